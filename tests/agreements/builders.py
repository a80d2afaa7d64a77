"""Builds agreements in any state straight into the tables, following docs/architecture.md.

For decision tests that need a register as it stood at chosen moments (periods that began and ended at
given times), which the services, working only in the present, cannot produce. Unless given, the dates are
those of an agreement in force today (tests/dates.py), or on the day a test pinned the clock to.
"""

import datetime as dt

from django.utils import timezone

from agreements.choices import AgreementStatus, PeriodState, VersionState
from agreements.models import Agreement, AgreementPeriod, AgreementVersion, Flow, LegalBasis, Party
from tests.dates import in_force_around
from tests.factories import AgencyFactory, DatasetFactory, UserFactory

_counter = iter(range(1, 1_000_000))


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def legal_basis(code: str) -> LegalBasis:
    """The catalogue row (loaded by migration); created here only if a test database lacks it."""
    kind = "article9" if code.startswith("ukgdpr-9") else "article10" if code == "ukgdpr-10" else "article6"
    basis, _ = LegalBasis.objects.get_or_create(
        code=code, defaults={"title": code, "citation": code.upper(), "kind": kind, "description": code}
    )
    return basis


def build_agreement(
    *,
    provider=None,
    recipient=None,
    dataset=None,
    status: str = AgreementStatus.ACTIVE,
    start: dt.date | None = None,
    end: dt.date | None = None,
    review: dt.date | None = None,
    periods: list[tuple[str, dt.datetime, dt.datetime | None]] | None = None,
    bases: tuple[str, ...] = ("ukgdpr-6-1-e",),
    data_items: list[str] | None = None,
    signed: bool | None = None,
    title: str = "Sharing for safer homes",
) -> Agreement:
    start_default, end_default, review_default = in_force_around(timezone.localdate())  # today, or a pinned clock
    start, end, review = start or start_default, end or end_default, review or review_default
    provider = provider or AgencyFactory()
    recipient = recipient or AgencyFactory()
    dataset = dataset or DatasetFactory(owner=provider)
    author = UserFactory()
    in_force = status in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED, AgreementStatus.REVOKED,
                          AgreementStatus.EXPIRED)
    signed = in_force if signed is None else signed
    agreement = Agreement.objects.create(
        reference=f"ISA-2026-{next(_counter):04d}", lead_agency=provider, status=status, created_by=author
    )
    version_state = {
        AgreementStatus.DRAFT: VersionState.DRAFT,
        AgreementStatus.SUBMITTED: VersionState.SUBMITTED,
        AgreementStatus.REJECTED: VersionState.REJECTED,
    }.get(status, VersionState.SIGNED)
    version = AgreementVersion.objects.create(
        agreement=agreement, number=1, state=version_state, title=title, purpose="To keep people safe",
        start_date=start, end_date=end, review_date=review, created_by=author, last_edited_by=author,
    )
    for agency in (provider, recipient):
        Party.objects.create(
            version=version, agency=agency,
            signed_by=author if signed else None, signed_at=timezone.now() if signed else None,
        )
    flow = Flow.objects.create(
        version=version, dataset=dataset, provider=provider, recipient=recipient, purpose="Home fire safety visits",
        data_items=data_items if data_items is not None else list(dataset.data_items), retention="12 months",
    )
    flow.legal_bases.set([legal_basis(code) for code in bases])
    agreement.current_version = version
    agreement.in_force_version = version if in_force else None
    agreement.save(update_fields=["current_version", "in_force_version"])
    if periods is None:
        signed_at = min(at(start) - dt.timedelta(days=30), timezone.now() - dt.timedelta(days=1))
        periods = [(PeriodState.IN_FORCE, signed_at, None)] if status in (
            AgreementStatus.ACTIVE,
        ) else []
    for state, started, ended in periods:
        AgreementPeriod.objects.create(
            agreement=agreement, version=version, state=state, started_at=started, ended_at=ended,
            end_reason="" if ended is None else "expired",
        )
    return agreement
