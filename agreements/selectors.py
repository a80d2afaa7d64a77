"""Reads of agreements, already limited to what the user may see (docs/architecture.md).

Anyone signed in sees the summary of an active agreement; members of a party agency (any role) see the full
record, drafts included, through the `view_agreement` grant to their role groups; superusers see everything.
Each row carries `full_view` so the API and pages know whether to show the summary or the whole record.
Filters match the in-force terms for everyone, and the current (perhaps draft) terms only where the user
sees the full record, so that a filter cannot reveal what a draft says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone

from agencies.choices import Role
from agencies.selectors import has_role
from audit.choices import AuditAction
from audit.models import AuditEvent

from .choices import AgreementStatus, VersionState
from .models import Agreement, AgreementGroupObjectPermission, AgreementVersion, Flow, LegalBasis, Party


def _view_grants(user: Any) -> QuerySet[AgreementGroupObjectPermission]:
    return AgreementGroupObjectPermission.objects.filter(
        group__user=user, permission__codename="view_agreement", permission__content_type__app_label="agreements"
    )


def _version_prefetches(prefix: str) -> list[Prefetch]:
    return [
        Prefetch(f"{prefix}__parties", queryset=Party.objects.select_related("agency", "signed_by")),
        Prefetch(
            f"{prefix}__flows",
            queryset=Flow.objects.select_related("dataset", "provider", "recipient").prefetch_related(
                Prefetch("legal_bases", queryset=LegalBasis.objects.order_by("pk"))  # catalogue order: Art 6 first
            ),
        ),
    ]


def _visible(user: Any) -> tuple[QuerySet[Agreement], Q | None]:
    """All agreements the user may see, annotated with `full_view`, and the condition for full view (None: all)."""
    base = Agreement.objects.all()
    if not getattr(user, "is_authenticated", False):
        return base.none(), Q(pk__in=[])
    if user.is_superuser:
        return base.annotate(full_view=Value(True, output_field=BooleanField())), None
    full = Q(pk__in=_view_grants(user).values("content_object_id"))
    qs = base.filter(full | Q(status=AgreementStatus.ACTIVE)).annotate(
        full_view=Exists(_view_grants(user).filter(content_object_id=OuterRef("pk")))
    )
    return qs, full


def _matching(versions: QuerySet[Any], full: Q | None) -> Q:
    """Agreements whose in-force terms match, or whose current terms match where the user sees the full record."""
    in_force = Q(in_force_version_id__in=versions)
    current = Q(current_version_id__in=versions)
    return in_force | (current if full is None else (current & full))


def agreement_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Agreement]:
    """Agreements the user may see, newest first, filtered by status, agency, dataset, legal_basis and q."""
    filters = filters or {}
    qs, full = _visible(user)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if agency := filters.get("agency"):
        parties = Party.objects.filter(agency__code=agency).values("version_id")
        qs = qs.filter(_matching(parties, full) | Q(lead_agency__code=agency))
    if dataset := filters.get("dataset"):
        qs = qs.filter(_matching(Flow.objects.filter(dataset__code=dataset).values("version_id"), full))
    if legal_basis := filters.get("legal_basis"):
        qs = qs.filter(_matching(Flow.objects.filter(legal_bases__code=legal_basis).values("version_id"), full))
    if text := (filters.get("q") or "").strip():
        versions = AgreementVersion.objects.filter(Q(title__icontains=text) | Q(purpose__icontains=text)).values("id")
        qs = qs.filter(_matching(versions, full) | Q(reference__iexact=text))
    return (
        qs.select_related("lead_agency", "current_version", "in_force_version")
        .prefetch_related(*_version_prefetches("current_version"), *_version_prefetches("in_force_version"))
        .order_by("-created_at", "-id")
    )


def agreement_get(*, user: Any, reference: str) -> Agreement:
    """One agreement the user may see, or Http404 (exactly as if it did not exist)."""
    qs, _ = _visible(user)
    agreement = (
        qs.filter(reference=reference)
        .select_related("lead_agency", "current_version", "in_force_version", "created_by")
        .prefetch_related(*_version_prefetches("current_version"), *_version_prefetches("in_force_version"))
        .first()
    )
    if agreement is None:
        raise Http404("No agreement with that reference is visible to you.")
    return agreement


def agreement_get_full(*, user: Any, reference: str) -> Agreement:
    """An agreement whose full record the user may see (the printable page), or Http404."""
    agreement = agreement_get(user=user, reference=reference)
    if not agreement.full_view:
        raise Http404("No agreement with that reference is visible to you.")
    return agreement


# --- the agreement page: what the user may do, its history and its use in checks ------------------------------

# The audit actions that make up an agreement's history (views, lists and checks are left out: they are not
# things that happened to the agreement, and checks are counted separately).
TIMELINE_ACTIONS = (
    AuditAction.AGREEMENT_CREATED, AuditAction.AGREEMENT_IMPORTED, AuditAction.AGREEMENT_UPDATED,
    AuditAction.AGREEMENT_SUBMITTED, AuditAction.AGREEMENT_APPROVED, AuditAction.AGREEMENT_ACTIVATED,
    AuditAction.AGREEMENT_REJECTED, AuditAction.AGREEMENT_SUSPENDED, AuditAction.AGREEMENT_REINSTATED,
    AuditAction.AGREEMENT_REVOKED, AuditAction.AGREEMENT_EXPIRED, AuditAction.AGREEMENT_AMENDED,
    AuditAction.AGREEMENT_REVIEW_REMINDED,
)
TIMELINE_LIMIT = 50
USAGE_DAYS = 30
CHECK_ACTIONS = (AuditAction.CHECK_ALLOWED, AuditAction.CHECK_DENIED)
# The permission each action needs on the agreement: without it the action is refused (403) in any state.
ACTION_PERMISSION = {
    "edit": "change_agreement", "submit": "change_agreement", "amend": "change_agreement",
    "sign": "sign_agreement", "reject": "sign_agreement",
    "suspend": "manage_agreement", "reinstate": "manage_agreement", "revoke": "manage_agreement",
}


def _agreement_perms(user: Any, agreement: Agreement) -> set[str]:
    """The agreement permissions the user holds through their role groups (one query; all for a superuser)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return set(ACTION_PERMISSION.values()) | {"view_agreement"}
    return set(
        AgreementGroupObjectPermission.objects.filter(
            group__user=user, content_object=agreement, permission__content_type__app_label="agreements"
        ).values_list("permission__codename", flat=True)
    )


@dataclass
class AgreementActions:
    """What one user may do to one agreement now, and what they could do in another state (`permitted`)."""

    permitted: set[str] = field(default_factory=set)
    available: set[str] = field(default_factory=set)
    signable_parties: list[Party] = field(default_factory=list)
    # Why an officer who may sign cannot sign now (already signed, or last edited the version for the lead).
    sign_blocked: str = ""
    sign_blocked_is_conflict: bool = False

    def may(self, action: str) -> bool:
        return action in self.available


def agreement_actions(*, user: Any, agreement: Agreement) -> AgreementActions:
    """The actions the page offers, following the services' rules (which still decide on every POST).

    Uses the agreement as `agreement_get` loads it (versions and parties prefetched), the user's cached roles,
    and one query for the user's permissions on it.
    """
    perms = _agreement_perms(user, agreement)
    result = AgreementActions(permitted={a for a, perm in ACTION_PERMISSION.items() if perm in perms})
    if not result.permitted:
        return result
    status, version = agreement.status, agreement.current_version
    in_force = agreement.in_force_version
    pending_amendment = (
        version is not None and in_force is not None and version.pk != in_force.pk
        and version.state in (VersionState.DRAFT, VersionState.SUBMITTED)
    )
    state = version.state if version else ""
    wanted = {
        "edit": state == VersionState.DRAFT,
        "submit": state == VersionState.DRAFT and status in (AgreementStatus.DRAFT, AgreementStatus.ACTIVE),
        "amend": status == AgreementStatus.ACTIVE and not pending_amendment,
        "reject": state == VersionState.SUBMITTED,
        "suspend": status == AgreementStatus.ACTIVE,
        "reinstate": status == AgreementStatus.SUSPENDED,
        "revoke": status in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED),
    }
    result.available = {action for action, ok in wanted.items() if ok and action in result.permitted}
    if "sign" in result.permitted and state == VersionState.SUBMITTED and status in (
        AgreementStatus.SUBMITTED, AgreementStatus.ACTIVE
    ):
        mine = [p for p in version.parties.all() if user.is_superuser
                or has_role(user, p.agency_id, Role.GOVERNANCE_OFFICER)]
        unsigned = [p for p in mine if p.signed_at is None]
        last_editor = version.last_edited_by_id == user.pk
        signable = [p for p in unsigned if not (p.agency_id == agreement.lead_agency_id and last_editor)]
        if signable:
            result.available.add("sign")
            result.signable_parties = signable
        elif unsigned:
            lead = agreement.lead_agency.name
            result.sign_blocked = (
                f"You were the last person to edit version {version.number}, so another governance officer of "
                f"{lead} must sign it for {lead}. This makes sure two people have checked it."
            )
        elif mine:
            result.sign_blocked_is_conflict = True
            result.sign_blocked = f"Your agency has already signed version {version.number} of {agreement.reference}."
    return result


def agreement_timeline(*, agreement: Agreement, limit: int = TIMELINE_LIMIT) -> list[AuditEvent]:
    """What happened to the agreement, newest first, from the audit log (one query on the object index).

    Ordered by `seq + 0`, not `seq`: with a LIMIT, PostgreSQL would otherwise walk the primary key backwards
    through the whole log (100 ms at a million events) instead of reading this agreement's rows by its index.
    """
    return list(
        AuditEvent.objects.filter(
            object_type="agreement", object_ref=agreement.reference, action__in=TIMELINE_ACTIONS
        ).order_by((F("seq") + 0).desc())[:limit]
    )


@dataclass(frozen=True)
class AgreementUsage:
    """How often checks relied on the agreement: allowed and refused, in the last 30 days and ever."""

    allowed_recent: int
    denied_recent: int
    allowed_total: int
    denied_total: int

    @property
    def recent(self) -> int:
        return self.allowed_recent + self.denied_recent

    @property
    def total(self) -> int:
        return self.allowed_total + self.denied_total


def agreement_usage(*, agreement: Agreement, now: dt.datetime | None = None) -> AgreementUsage:
    """Counts of check.allowed and check.denied events naming the agreement, in one aggregate query."""
    since = (now or timezone.now()) - dt.timedelta(days=USAGE_DAYS)
    allowed, denied = Q(action=AuditAction.CHECK_ALLOWED), Q(action=AuditAction.CHECK_DENIED)
    counts = AuditEvent.objects.filter(
        object_type="agreement", object_ref=agreement.reference, action__in=CHECK_ACTIONS
    ).aggregate(
        allowed_recent=Count("seq", filter=allowed & Q(at__gte=since)),
        denied_recent=Count("seq", filter=denied & Q(at__gte=since)),
        allowed_total=Count("seq", filter=allowed),
        denied_total=Count("seq", filter=denied),
    )
    return AgreementUsage(**{name: value or 0 for name, value in counts.items()})
