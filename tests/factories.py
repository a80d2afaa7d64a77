"""factory_boy factories shared by every test package. Add to this file; keep each factory minimal."""

import factory
from django.contrib.auth import get_user_model

from accounts.signals import recorded_here
from agencies.choices import AgencyKind, Role
from agencies.models import Agency, Dataset
from agencies.services import agency_role_group

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user made as test set-up: like `member()`, it records no audit event (accounts/signals.py stays quiet).

    Tests of what the registry records when a user is created use the real paths (the admin, the services)."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with recorded_here():
            return super()._create(model_class, *args, **kwargs)


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.LazyAttribute(lambda a: a.code.replace("-", " ").title())
    kind = AgencyKind.LOCAL_AUTHORITY
    dpo_email = factory.LazyAttribute(lambda a: f"dpo@{a.code}.example.org")


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset
        django_get_or_create = ("code",)

    owner = factory.SubFactory(AgencyFactory)
    code = factory.Sequence(lambda n: f"dataset-{n}")
    name = factory.LazyAttribute(lambda d: d.code.replace("-", " ").title())
    data_items = ["name", "address", "date of birth"]


def member(agency: Agency, role: Role | str, username: str | None = None, **extra):
    """A user holding `role` in `agency`, added directly to the role's group (no audit event: test set-up)."""
    user = UserFactory(username=username or f"{agency.code}-{Role(role).value}", **extra)
    agency_role_group(agency=agency, role=role).user_set.add(user)
    return user


def agreement_terms(**overrides) -> dict:
    """Valid agreement_create() arguments (codes, as the API takes them) for the agencies and datasets that
    agreement_factory() and the `region` fixture make: lead-council, nhs-provider, discharge-summaries."""
    from tests.dates import END, REVIEW, START

    terms = {
        "lead_agency": "lead-council", "title": "Hospital discharge", "purpose": "Plan care after hospital",
        "start_date": START, "end_date": END, "review_date": REVIEW,
        "flows": [{"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                   "purpose": "Discharge planning",
                   "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}],
    }
    terms.update(overrides)
    return terms


def agreement_body(**overrides) -> dict:
    """agreement_terms() as a JSON body for POST /api/v1/agreements/: the dates as ISO strings."""
    body = agreement_terms()
    body.update({name: body[name].isoformat() for name in ("start_date", "end_date", "review_date")})
    body.update(overrides)
    return body


def agreement_factory(
    *,
    lead=None,
    flows=None,
    state: str = "draft",
    title: str = "Hospital discharge to adult social care",
    purpose: str = "Plan care for patients leaving hospital",
    start_date=None,
    end_date=None,
    review_date=None,
    **extra,
):
    """A valid agreement built through the services (so grants and audit events are real).

    With no arguments: a lead council, an NHS provider with a discharge dataset, one flow to the council.
    `flows` are dicts as the API takes them (codes or model instances for dataset/provider/recipient).
    `state`: "draft", "submitted" or "active" (every party's governance officer signs; the lead agency is
    signed by a second officer, since the drafter may not sign for the lead). Returns the Agreement, fresh.
    Officers are `member(agency, "governance_officer")` (and `<lead>-second-officer` for the lead).
    """
    import datetime

    from django.utils import timezone

    from agreements import services

    lead = lead or AgencyFactory(code="lead-council", name="Lead Council")
    if flows is None:
        provider = AgencyFactory(code="nhs-provider", name="NHS Provider", kind=AgencyKind.NHS_TRUST)
        dataset = DatasetFactory(
            code="discharge-summaries", owner=provider, special_category=True,
            data_items=["name", "NHS number", "discharge date", "care needs"],
        )
        flows = [{"dataset": dataset, "provider": provider, "recipient": lead,
                  "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}]
    flows = [
        {**f, **{k: getattr(f[k], "code", f[k]) for k in ("dataset", "provider", "recipient") if k in f}}
        for f in flows
    ]
    today = timezone.localdate()
    start_date = start_date or today - datetime.timedelta(days=30)
    end_date = end_date or start_date + datetime.timedelta(days=730)
    review_date = review_date or start_date + datetime.timedelta(days=365)
    drafter = member(lead, Role.GOVERNANCE_OFFICER)
    agreement = services.agreement_create(
        actor=drafter, lead_agency=lead.code, title=title, purpose=purpose, start_date=start_date,
        end_date=end_date, review_date=review_date, flows=flows, **extra,
    )
    if state in ("submitted", "active"):
        agreement = services.agreement_submit(actor=drafter, agreement=agreement)
    if state == "active":
        sign_all(agreement)
    return fresh(agreement)


def fresh(agreement):
    """The agreement as the database now holds it."""
    from agreements.models import Agreement

    return Agreement.objects.get(pk=agreement.pk)


def sign_all(agreement):
    """Every unsigned party of the current version signs (a second officer signs for the lead)."""
    from agreements import services
    from agreements.models import Party

    for party in Party.objects.filter(version=agreement.current_version, signed_at__isnull=True).select_related(
        "agency"
    ):
        if party.agency_id == agreement.lead_agency_id:
            officer = member(party.agency, Role.GOVERNANCE_OFFICER, username=f"{party.agency.code}-second-officer")
        else:
            officer = member(party.agency, Role.GOVERNANCE_OFFICER)
        agreement = services.agreement_approve(actor=officer, agreement=agreement, agency=party.agency.code)
    return agreement


def api_key(user, name: str = "Test system", **kwargs) -> str:
    """A new API token for `user`; returns its key, which (like the real thing) is stored only as a hash.

    It counts as just used, as a system's token in service is: its "last used" is written at most once a minute,
    so pinned query counts see the steady state, not that one extra write."""
    from datetime import timedelta

    from django.utils import timezone

    from tokens.models import ApiToken

    kwargs.setdefault("last_used_at", timezone.now())
    _, key = ApiToken.objects.create(user=user, expiry=kwargs.pop("expiry", timedelta(days=1)), name=name, **kwargs)
    return key


def token_works(key: str) -> bool:
    """Whether the API accepts this key now."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/agencies/").status_code == 200
