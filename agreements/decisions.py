"""The frontline question: "may I share dataset D from agency P with agency R, on date X?"

`decide()` answers from the register as it stood at that moment: the version in force then, its
periods of suspension, its dates and its review. It costs two queries whatever the answer; the audit
write that `check()` adds makes three.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery, Value
from django.utils import timezone

from agencies.choices import Role
from agencies.models import Agency, AgencyRole, Dataset
from audit.choices import AuditAction
from audit.services import record

from .choices import AgreementStatus, PeriodState, VersionState
from .models import AgreementPeriod, Flow, Party


@dataclass(frozen=True)
class _AgencyRef:
    """Enough of an agency for the audit record (its id and code) without loading it again."""

    pk: int | None
    code: str


class UnknownCodes(Exception):
    """Some codes in the question name nothing in the register. `errors` is DRF-shaped."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Basis:
    code: str
    citation: str
    title: str
    description: str


@dataclass
class Decision:
    allowed: bool
    reason: str
    next_step: str
    provider: str
    recipient: str
    dataset: str
    on: dt.date
    agreement: str | None = None
    agreement_title: str | None = None
    version: int | None = None
    legal_bases: list[Basis] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)
    data_items: list[str] = field(default_factory=list)
    method: str | None = None
    frequency: str | None = None
    retention: str | None = None
    contact: str | None = None
    warnings: list[str] = field(default_factory=list)
    outcome: str = ""
    checked_at: dt.datetime | None = None
    event: int | None = None
    provider_id: int | None = None

    def as_detail(self, *, purpose: str, data_items: list[str] | None) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "recipient": self.recipient,
            "dataset": self.dataset,
            "purpose": purpose,
            "data_items": data_items or [],
            "on": self.on.isoformat(),
            "allowed": self.allowed,
            "outcome": self.outcome,
            "reason": self.reason,
            "agreement": self.agreement,
            "version": self.version,
            "legal_bases": [b.code for b in self.legal_bases],
            "warnings": self.warnings,
        }


# How close a denial is to a yes: when several agreements could apply, the answer explains the closest.
_RANK = {
    "allowed": 0,
    "items_not_covered": 1,
    "review_lapsed": 2,
    "awaiting_signatures": 3,
    "not_yet_started": 4,
    "not_yet_in_force": 5,
    "suspended": 6,
    "expired": 7,
    "revoked": 8,
    "rejected": 9,
    "wrong_direction": 10,
    "dataset_not_covered": 11,
    "no_agreement": 12,
}


def _moment(on: dt.date, now: dt.datetime) -> dt.datetime:
    """The instant a check about `on` looks at: now for today or later, the close of that day for a past date."""
    if on >= timezone.localdate(now):
        return now
    close = dt.datetime.combine(on + dt.timedelta(days=1), dt.time.min)
    return timezone.make_aware(close) - dt.timedelta(microseconds=1)


def _fmt(day: dt.date | dt.datetime) -> str:
    if isinstance(day, dt.datetime):
        day = timezone.localdate(day)
    return f"{day.day} {day:%B %Y}"


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _candidate_flows(provider: str, recipient: str, dataset: str, moment: dt.datetime):
    """Every flow that could bear on the question, each with the period that covered `moment`. One query."""
    covering = (
        AgreementPeriod.objects.filter(version=OuterRef("version"), started_at__lte=moment)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=moment))
        .order_by("-started_at")
    )
    last_period = AgreementPeriod.objects.filter(agreement=OuterRef("version__agreement")).order_by("-started_at")
    first_start = AgreementPeriod.objects.filter(agreement=OuterRef("version__agreement")).order_by("started_at")
    pair = [provider, recipient]
    return (
        Flow.objects.filter(
            Q(dataset__code=dataset, provider__code__in=pair, recipient__code__in=pair)
            | Q(provider__code=provider, recipient__code=recipient)
        )
        .select_related("version", "version__agreement", "dataset", "provider", "recipient")
        .annotate(
            period_state=Subquery(covering.values("state")[:1]),
            last_ended_at=Subquery(last_period.values("ended_at")[:1]),
            first_started_at=Subquery(first_start.values("started_at")[:1]),
        )
        .order_by("-version__number", "pk")
    )


def _judge(flow: Flow, *, on: dt.date, provider: str, dataset: str, items: list[str] | None) -> str:
    """The outcome for one flow at the moment asked about (before any further lookups)."""
    version, agreement = flow.version, flow.version.agreement
    if flow.dataset.code != dataset:
        return "dataset_not_covered"
    if flow.provider.code != provider:
        return "wrong_direction"
    if flow.period_state == PeriodState.IN_FORCE:
        if on < version.start_date:
            return "not_yet_started"
        if on > version.end_date:
            return "expired"
        if on > version.review_date + dt.timedelta(days=settings.REVIEW_GRACE_DAYS):
            return "review_lapsed"
        if items and not set(items) <= set(flow.data_items or []):
            return "items_not_covered"
        return "allowed"
    if flow.period_state == PeriodState.SUSPENDED:
        return "suspended"
    # No period covered the moment: why not?
    if version.state in (VersionState.DRAFT, VersionState.SUBMITTED):
        if agreement.in_force_version_id and agreement.in_force_version_id != version.pk:
            return "ignore"  # an amendment in progress; the in-force version's flows speak for the agreement
        return "awaiting_signatures"
    if version.state == VersionState.REJECTED:
        return "rejected"
    if agreement.status == AgreementStatus.REVOKED:
        return "revoked"
    if agreement.status == AgreementStatus.EXPIRED or on > version.end_date:
        return "expired"
    if version.state == VersionState.SUPERSEDED:
        return "ignore"
    return "not_yet_in_force"


def decide(
    *, provider: str, recipient: str, dataset: str, on: dt.date | None = None, data_items: list[str] | None = None
) -> Decision:
    """The decision alone (no audit). Raises UnknownCodes when a code names nothing."""
    now = timezone.now()
    on = on or timezone.localdate(now)
    moment = _moment(on, now)
    base = {"provider": provider, "recipient": recipient, "dataset": dataset, "on": on, "checked_at": now}

    judged = [
        (_RANK[outcome], outcome, flow)
        for flow in _candidate_flows(provider, recipient, dataset, moment)
        if (outcome := _judge(flow, on=on, provider=provider, dataset=dataset, items=data_items)) != "ignore"
    ]
    if not judged:
        found = _resolve_codes(provider, recipient, dataset)
        return _no_agreement({**base, "provider_id": found[("agency", provider)]})
    judged.sort(key=lambda row: row[0])
    _, outcome, flow = judged[0]
    if outcome == "dataset_not_covered":
        _resolve_codes(provider, recipient, dataset)  # is the dataset the agreement lacks in the register at all?
    return _explain(outcome, flow, base, on=on, items=data_items, others=[f for _, o, f in judged if o == outcome])


def _resolve_codes(provider: str, recipient: str, dataset: str) -> dict[tuple[str, str], int]:
    """One query: which of the codes exist, and their ids. Only asked when no flow matched.

    Raises UnknownCodes naming each code that is not in the register.
    """
    agencies = Agency.objects.filter(code__in=[provider, recipient]).annotate(code_kind=Value("agency")).order_by()
    datasets = Dataset.objects.filter(code=dataset).annotate(code_kind=Value("dataset")).order_by()
    found = {
        (kind, code): pk
        for kind, code, pk in agencies.values_list("code_kind", "code", "pk").union(
            datasets.values_list("code_kind", "code", "pk"), all=True
        )
    }
    errors: dict[str, list[str]] = {}
    for name, code in (("provider", provider), ("recipient", recipient)):
        if ("agency", code) not in found:
            errors[name] = [f"There is no agency with the code “{code}”."]
    if ("dataset", dataset) not in found:
        errors["dataset"] = [f"There is no dataset with the code “{dataset}”."]
    if provider == recipient and "provider" not in errors:
        errors["recipient"] = ["The recipient must be a different agency from the provider."]
    if errors:
        raise UnknownCodes(errors)
    return found


def _no_agreement(base: dict[str, Any]) -> Decision:
    return Decision(
        allowed=False,
        outcome="no_agreement",
        reason=(
            f"No: there is no information-sharing agreement for sharing {base['dataset']} "
            f"from {base['provider']} with {base['recipient']}."
        ),
        next_step=(
            "Do not share under the registry. If someone is at immediate risk, follow your safeguarding "
            "procedure and speak to your Caldicott Guardian or Data Protection Officer today: the law may still "
            "allow sharing without an agreement."
        ),
        **base,
    )


def _explain(outcome: str, flow: Flow, base: dict[str, Any], *, on: dt.date, items, others) -> Decision:
    version, agreement = flow.version, flow.version.agreement
    provider_agency = flow.provider if flow.provider.code == base["provider"] else flow.recipient
    common = {
        **base,
        "provider_id": provider_agency.pk,
        "agreement": agreement.reference,
        "agreement_title": version.title,
        "version": version.number,
        "contact": provider_agency.dpo_email or None,
        "outcome": outcome,
    }
    ref = f"Agreement {agreement.reference} (“{version.title}”)"
    ask_dpo = (
        f"Ask the Data Protection Officer of {provider_agency.name}"
        + (f" ({provider_agency.dpo_email})" if provider_agency.dpo_email else "")
        + " before sharing."
    )

    if outcome in ("allowed", "items_not_covered"):
        bases = [
            Basis(b.code, b.citation, b.title, b.description)
            for b in flow.legal_bases.all().order_by("kind", "code")  # the second query
        ]
        common.update(
            legal_bases=bases,
            purposes=[flow.purpose],
            data_items=list(flow.data_items or []),
            method=flow.get_method_display(),
            frequency=flow.get_frequency_display(),
            retention=flow.retention or None,
        )
        if outcome == "items_not_covered":
            missing = sorted(set(items) - set(flow.data_items or []))
            return Decision(
                allowed=False,
                reason=(
                    f"No: {ref} does not cover {_names(missing)}. It covers only: "
                    f"{_names(list(flow.data_items or []))}."
                ),
                next_step="Share only the items the agreement covers, or ask for the agreement to be amended.",
                **common,
            )
        warnings = []
        if on > version.review_date:
            warnings.append(
                f"The review of this agreement was due on {_fmt(version.review_date)} and is overdue. "
                f"It lapses {settings.REVIEW_GRACE_DAYS} days after that date."
            )
        cited = _names([b.citation for b in bases])
        return Decision(
            allowed=True,
            reason=f"Yes, you may share this: {ref} covers it under {cited}, for: {flow.purpose}",
            next_step=(
                "Share only what is needed for that purpose"
                + (f", by {flow.get_method_display().lower()}" if flow.method else "")
                + ", and record what you shared and why."
            ),
            warnings=warnings,
            **common,
        )

    if outcome == "awaiting_signatures":
        unsigned = list(
            Party.objects.filter(version=version, signed_at__isnull=True)
            .order_by("agency__name")
            .values_list("agency__name", flat=True)
        )
        return Decision(
            allowed=False,
            reason=f"No: {ref} is not yet approved. It still needs signing by {_names(unsigned)}.",
            next_step="Do not share under it until every party has signed. Ask your governance officer to chase it.",
            **common,
        )
    reasons = {
        "review_lapsed": (
            f"No: the review of {ref} has lapsed. It was due on {_fmt(version.review_date)}, more than "
            f"{settings.REVIEW_GRACE_DAYS} days before {_fmt(on)}.",
            "Ask your governance officer to review and renew the agreement. " + ask_dpo,
        ),
        "not_yet_started": (
            f"No: {ref} does not start until {_fmt(version.start_date)}.",
            "Wait until the agreement starts. " + ask_dpo,
        ),
        "not_yet_in_force": (
            f"No: {ref} was not yet in force on {_fmt(on)}"
            + (f"; it came into force on {_fmt(flow.first_started_at)}." if flow.first_started_at else "."),
            ask_dpo,
        ),
        "suspended": (
            f"No: {ref} is suspended" + (" now." if on >= timezone.localdate() else f" on {_fmt(on)}."),
            "Do not share under it while it is suspended. " + ask_dpo,
        ),
        "expired": (
            f"No: {ref} expired on {_fmt(version.end_date)}.",
            "A new agreement is needed. " + ask_dpo,
        ),
        "revoked": (
            f"No: {ref} was revoked"
            + (f" on {_fmt(flow.last_ended_at)}." if flow.last_ended_at else ".")
            + " Revocation is final.",
            "A new agreement is needed. " + ask_dpo,
        ),
        "rejected": (f"No: {ref} was rejected and never came into force.", ask_dpo),
        "wrong_direction": (
            f"No: {ref} covers sharing {base['dataset']} from {base['recipient']} to {base['provider']}, "
            f"not from {base['provider']} to {base['recipient']}.",
            "Sharing the other way needs its own flow in an agreement. " + ask_dpo,
        ),
        "dataset_not_covered": (
            f"No: {ref} is between these agencies but does not cover {base['dataset']}. "
            f"It covers {_names(sorted({f.dataset.name for f in others}))}.",
            "Share only what an agreement covers, or ask for this dataset to be added. " + ask_dpo,
        ),
    }
    reason, next_step = reasons[outcome]
    return Decision(allowed=False, reason=reason, next_step=next_step, **common)


def caller_may_check(*, user: Any, provider: str, recipient: str) -> bool:
    """Members of the provider or recipient, auditors of any agency, and superusers may ask. One query."""
    if user.is_superuser:
        return True
    return AgencyRole.objects.filter(group__user=user).filter(
        Q(agency__code__in=[provider, recipient]) | Q(role=Role.AUDITOR)
    ).exists()


def check(
    *,
    provider: str,
    recipient: str,
    dataset: str,
    purpose: str = "",
    on: dt.date | None = None,
    data_items: list[str] | None = None,
) -> Decision:
    """Decide and record the check in the audit log (check.allowed or check.denied). The event's seq is returned."""
    decision = decide(provider=provider, recipient=recipient, dataset=dataset, on=on, data_items=data_items)
    event = record(
        action=AuditAction.CHECK_ALLOWED if decision.allowed else AuditAction.CHECK_DENIED,
        object_type="agreement" if decision.agreement else "dataset",
        object_ref=decision.agreement or dataset,
        agency=_AgencyRef(decision.provider_id, provider),  # the provider's auditors see checks of its data
        detail=decision.as_detail(purpose=purpose, data_items=data_items),
    )
    decision.event = event.seq
    return decision
