import pytest


class Region:
    """A small region: a council (lead), an NHS trust, the police and an unrelated fire service."""

    def __init__(self):
        from agencies.choices import AgencyKind
        from tests.factories import AgencyFactory, DatasetFactory

        self.council = AgencyFactory(code="lead-council", name="Lead Council")
        self.nhs = AgencyFactory(code="nhs-provider", name="NHS Provider", kind=AgencyKind.NHS_TRUST)
        self.police = AgencyFactory(code="police", name="Police", kind=AgencyKind.POLICE)
        self.fire = AgencyFactory(code="fire", name="Fire Service", kind=AgencyKind.FIRE_RESCUE)
        self.discharge = DatasetFactory(
            code="discharge-summaries", owner=self.nhs, special_category=True,
            data_items=["name", "NHS number", "discharge date", "care needs"],
        )
        self.incidents = DatasetFactory(
            code="domestic-incidents", owner=self.police, criminal_offence=True,
            data_items=["incident date", "address", "children present"],
        )
        self.tenancies = DatasetFactory(code="council-tenancies", owner=self.council, data_items=["name", "address"])

    def terms(self, **overrides):
        """Valid create() arguments (codes, as the API takes them)."""
        from tests.factories import agreement_terms

        return agreement_terms(**overrides)


@pytest.fixture
def region(db):
    return Region()

