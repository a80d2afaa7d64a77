"""A small region for the agencies tests: two agencies made through the services (so their permissions are the
real, audited grants), one dataset each, and one person per role."""

from dataclasses import dataclass

import pytest

from agencies.choices import AgencyKind, Role
from agencies.models import Agency, Dataset
from agencies.services import agency_create, dataset_create
from tests.factories import UserFactory, member


@dataclass
class Region:
    home: Agency
    other: Agency
    home_dataset: Dataset
    other_dataset: Dataset
    users: dict


@pytest.fixture
def region(db) -> Region:
    home = agency_create(actor=None, code="home-council", name="Home City Council", kind=AgencyKind.LOCAL_AUTHORITY)
    other = agency_create(actor=None, code="other-trust", name="Other NHS Trust", kind=AgencyKind.NHS_TRUST)
    home_dataset = dataset_create(
        actor=None, owner=home, code="home-social-care", name="Adult social care records", data_items=["name", "needs"]
    )
    other_dataset = dataset_create(
        actor=None, owner=other, code="other-discharges", name="Discharge summaries", special_category=True
    )
    users = {
        "home_officer": member(home, Role.GOVERNANCE_OFFICER, "home-officer"),
        "home_frontline": member(home, Role.FRONTLINE, "home-frontline"),
        "home_auditor": member(home, Role.AUDITOR, "home-auditor"),
        "home_admin": member(home, Role.AGENCY_ADMIN, "home-admin"),
        "other_admin": member(other, Role.AGENCY_ADMIN, "other-admin"),
        "other_officer": member(other, Role.GOVERNANCE_OFFICER, "other-officer"),
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    return Region(home=home, other=other, home_dataset=home_dataset, other_dataset=other_dataset, users=users)



# Permission matrices: {row: (method, path, body, {actor: status, "*": everyone else's status})}, one for the API and
# one for the pages, each run for every actor.

ACTORS = ["anonymous", "other_admin", "home_frontline", "home_auditor", "home_officer", "home_admin", "superuser"]


def matrix_cases(matrix: dict) -> list:
    """Every row of a matrix for every actor, as pytest parameters named `<row>-<actor>`."""
    return [pytest.param(row, actor, id=f"{row}-{actor}") for row in matrix for actor in ACTORS]


def matrix_row(region: Region, matrix: dict, row: str, actor: str) -> tuple:
    """(method, path, body, user, status) of one row for one actor: the user the actor stands for (None: anonymous)
    and the status expected for them. Someone named `newcomer`, in no agency, exists for the rows that add a person."""
    method, path, body, expected = matrix[row]
    UserFactory(username="newcomer")
    user = None if actor == "anonymous" else region.users[actor]
    return method, path, body, user, expected.get(actor, expected["*"])
