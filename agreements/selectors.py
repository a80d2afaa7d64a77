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
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import BooleanField, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.query import ModelIterable
from django.db.models.sql import Query
from django.http import Http404
from django.utils import timezone

from agencies.choices import Role
from agencies.models import Agency, Dataset
from agencies.selectors import user_agency_codes
from audit.choices import AuditAction
from audit.models import AuditEvent
from common.types import User

from .choices import AgreementStatus
from .models import Agreement, AgreementGroupObjectPermission, AgreementVersion, Flow, LegalBasis, Party
from .status import register_status_q


def _view_grants(user: User) -> QuerySet[AgreementGroupObjectPermission]:
    """The user's `view_agreement` grants, shaped so the planner reads them from guardian's unique index
    (group_id, permission_id, content_object_id): the groups straight from auth_user_groups and the permission
    as one scalar subquery, rather than a join through auth_group, auth_permission and django_content_type for
    every grant row."""
    groups = get_user_model().groups.through.objects.filter(user_id=user.pk).values("group_id")
    permission = Permission.objects.filter(
        codename="view_agreement", content_type__app_label="agreements", content_type__model="agreement"
    ).values("pk")[:1]
    return AgreementGroupObjectPermission.objects.filter(group_id__in=groups, permission_id=Subquery(permission))


class AgreementQuerySet(QuerySet):
    """Agreements that arrive with the terms of their current and in-force versions: parties (with agency and
    signer) and flows (with dataset, provider, recipient and legal bases), as `version.parties.all()` and
    `version.flows.all()` / `flow.legal_bases.all()` read them.

    Two queries for any page, for both versions at once (prefetch_related needs six: three per relation).
    Loaded when the queryset is evaluated into model instances; `.iterator()` does not load them.
    """

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._iterable_class is ModelIterable and self._result_cache:
            _load_terms(self._result_cache, using=self.db)


class _Fetched(QuerySet):
    """The rows of one relation, already loaded: reading them costs nothing, and anything that would change the
    query (filter, order_by, values, ...) starts again from the relation itself, as a prefetched manager does."""

    def __init__(self, model: Any, objects: list[Any], lookup: str, value: Any, using: str):
        # Never mutated (every change goes through _clone), so one empty Query per model serves them all:
        # building a Query is most of what a QuerySet costs, and a page has hundreds of these.
        super().__init__(model, query=_EMPTY_QUERY.get(model) or _EMPTY_QUERY.setdefault(model, Query(model)),
                         using=using)
        self._result_cache, self._prefetch_done = objects, True
        self._relation = (lookup, value)

    def _clone(self) -> QuerySet:
        lookup, value = self._relation
        return self.model._default_manager.db_manager(self.db).filter(**{lookup: value})


def _cache(instance: Any, name: str, objects: list[Any], lookup: str, using: str) -> None:
    """Put `objects` where prefetch_related would, so `instance.<name>.all()` returns them without a query."""
    model = type(objects[0]) if objects else _RELATED_MODEL[name]
    if "_prefetched_objects_cache" not in instance.__dict__:
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = _Fetched(model, objects, lookup, instance.pk, using)


_EMPTY_QUERY: dict[Any, Query] = {}
_RELATED_MODEL = {"parties": Party, "flows": Flow, "legal_bases": LegalBasis}


def _columns(model: Any, prefix: str = "") -> list[str]:
    return [f"{prefix}{field.attname}" for field in model._meta.concrete_fields]


_User = get_user_model()
_PARTY_COLUMNS = _columns(Party)
_USER_COLUMNS = _columns(_User)
_FLOW_COLUMNS = _columns(Flow)
_DATASET_COLUMNS = _columns(Dataset, "dataset__")
_DATASET_FIELDS = _columns(Dataset)
_AGENCY_COLUMNS = _columns(Agency)
_BASIS_COLUMNS = _columns(LegalBasis)


def _load_terms(agreements: list[Agreement], *, using: str) -> None:
    """Parties and flows (with legal bases) of every current and in-force version on the page: two queries.

    Flows come LEFT JOINed to their legal bases as plain tuples (one row per flow and basis), so each flow,
    dataset, agency and basis becomes one model instance however many rows repeat it.
    """
    versions: dict[int, list[AgreementVersion]] = {}
    for agreement in agreements:
        for name in ("current_version", "in_force_version"):
            if getattr(agreement, f"{name}_id") is not None and Agreement._meta.get_field(name).is_cached(agreement):
                version = getattr(agreement, name)
                if version is not None:
                    versions.setdefault(version.pk, []).append(version)
    if not versions:
        return
    parties: dict[int, list[Party]] = {pk: [] for pk in versions}
    agencies: dict[int, Agency] = {}
    users: dict[int, Any] = {}
    party_fields = Party._meta
    width = len(_PARTY_COLUMNS), len(_AGENCY_COLUMNS)
    for row in (
        Party.objects.using(using).filter(version_id__in=versions)
        .order_by(*Party._meta.ordering)
        .values_list(*_PARTY_COLUMNS, *_columns(Agency, "agency__"), *_columns(_User, "signed_by__"))
    ):
        party = Party.from_db(using, _PARTY_COLUMNS, row[:width[0]])
        agency_values = row[width[0]:width[0] + width[1]]
        agency = agencies.get(agency_values[0]) or agencies.setdefault(
            agency_values[0], Agency.from_db(using, _AGENCY_COLUMNS, agency_values))
        party_fields.get_field("agency").set_cached_value(party, agency)
        user_values = row[width[0] + width[1]:]
        signer = None
        if user_values[0] is not None:
            signer = users.get(user_values[0]) or users.setdefault(
                user_values[0], _User.from_db(using, _USER_COLUMNS, user_values))
        party_fields.get_field("signed_by").set_cached_value(party, signer)
        parties[party.version_id].append(party)

    flow_fields = Flow._meta
    agency_columns = {role: _columns(Agency, f"{role}__") for role in ("provider", "recipient")}
    agencies = dict(agencies)  # flows' agencies share the parties' instances
    columns = [*_FLOW_COLUMNS, *_DATASET_COLUMNS, *agency_columns["provider"], *agency_columns["recipient"],
               *(f"legal_bases__{c}" for c in _BASIS_COLUMNS)]
    spans, at = {}, 0
    for key, width in (("flow", len(_FLOW_COLUMNS)), ("dataset", len(_DATASET_COLUMNS)),
                       ("provider", len(_AGENCY_COLUMNS)), ("recipient", len(_AGENCY_COLUMNS)),
                       ("basis", len(_BASIS_COLUMNS))):
        spans[key] = slice(at, at + width)
        at += width
    flows: dict[int, dict[int, Flow]] = {pk: {} for pk in versions}
    bases: dict[int, list[LegalBasis]] = {}
    datasets: dict[int, Dataset] = {}
    catalogue: dict[int, LegalBasis] = {}
    rows = (
        Flow.objects.using(using).filter(version_id__in=versions)
        .order_by("version_id", "pk", "legal_bases__pk")  # flows in Flow's order, bases in catalogue order
        .values_list(*columns)
    )
    for row in rows:
        flow_values = row[spans["flow"]]
        flow_pk, version_id = flow_values[0], flow_values[_FLOW_COLUMNS.index("version_id")]
        flow = flows[version_id].get(flow_pk)
        if flow is None:
            flow = Flow.from_db(using, _FLOW_COLUMNS, flow_values)
            flow_fields.get_field("version").set_cached_value(flow, versions[version_id][0])
            dataset_values = row[spans["dataset"]]
            dataset = datasets.get(dataset_values[0]) or datasets.setdefault(
                dataset_values[0], Dataset.from_db(using, _DATASET_FIELDS, dataset_values))
            flow_fields.get_field("dataset").set_cached_value(flow, dataset)
            for role in ("provider", "recipient"):
                values = row[spans[role]]
                agency = agencies.get(values[0]) or agencies.setdefault(
                    values[0], Agency.from_db(using, _AGENCY_COLUMNS, values))
                flow_fields.get_field(role).set_cached_value(flow, agency)
            flows[version_id][flow_pk] = flow
            bases[flow_pk] = []
        basis_values = row[spans["basis"]]
        if basis_values[0] is not None:
            basis = catalogue.get(basis_values[0]) or catalogue.setdefault(
                basis_values[0], LegalBasis.from_db(using, _BASIS_COLUMNS, basis_values))
            bases[flow_pk].append(basis)
    for pk, instances in versions.items():
        version_flows = list(flows[pk].values())
        for flow in version_flows:
            _cache(flow, "legal_bases", bases[flow.pk], "flows", using)
        for version in instances:
            _cache(version, "parties", parties[pk], "version", using)
            _cache(version, "flows", version_flows, "version", using)


def _visible(user: User) -> tuple[QuerySet[Agreement], Q | None]:
    """All agreements the user may see, annotated with `full_view`, and the condition for full view (None: all)."""
    base = AgreementQuerySet(Agreement)
    if not getattr(user, "is_authenticated", False):
        return base.none(), Q(pk__in=[])
    if user.is_superuser:
        return base.annotate(full_view=Value(True, output_field=BooleanField())), None
    grants = _view_grants(user)  # built once: composing these subqueries is a good part of a request's CPU
    full = Q(pk__in=grants.values("content_object_id"))
    qs = base.filter(full | Q(status=AgreementStatus.ACTIVE)).annotate(
        full_view=Exists(grants.filter(content_object_id=OuterRef("pk")))
    )
    return qs, full


def _matching(versions: QuerySet[Any], full: Q | None) -> Q:
    """Agreements whose in-force terms match, or whose current terms match where the user sees the full record."""
    in_force = Q(in_force_version_id__in=versions)
    current = Q(current_version_id__in=versions)
    return in_force | (current if full is None else (current & full))


def agreement_list(*, user: User, filters: Mapping[str, Any] | None = None) -> QuerySet[Agreement]:
    """Agreements the user may see, newest first, filtered by status (a `RegisterStatus`: the lifecycle's, or in force
    today, or signed but not started), agency, dataset, legal_basis and q."""
    filters = filters or {}
    qs, full = _visible(user)
    if status := filters.get("status"):
        qs = qs.filter(register_status_q(status))
    if agency := filters.get("agency"):
        agency_ids = Agency.objects.filter(code=agency).values("pk")
        parties = Party.objects.filter(agency_id__in=agency_ids).values("version_id")
        qs = qs.filter(_matching(parties, full) | Q(lead_agency_id__in=agency_ids))
    if dataset := filters.get("dataset"):
        qs = qs.filter(_matching(Flow.objects.filter(dataset__code=dataset).values("version_id"), full))
    if legal_basis := filters.get("legal_basis"):
        qs = qs.filter(_matching(Flow.objects.filter(legal_bases__code=legal_basis).values("version_id"), full))
    if text := (filters.get("q") or "").strip():
        versions = AgreementVersion.objects.filter(Q(title__icontains=text) | Q(purpose__icontains=text)).values("id")
        qs = qs.filter(_matching(versions, full) | Q(reference__iexact=text))
    return qs.select_related("lead_agency", "current_version", "in_force_version").order_by("-created_at", "-id")


def agreement_get(*, user: User, reference: str) -> Agreement:
    """One agreement the user may see, or Http404 (exactly as if it did not exist)."""
    qs, _ = _visible(user)
    agreement = (
        qs.filter(reference=reference)
        .select_related("lead_agency", "current_version", "in_force_version", "created_by", "suspended_by")
        .first()
    )
    if agreement is None:
        raise Http404("No agreement with that reference is visible to you.")
    return agreement


def agreement_ids_visible(*, user: User, ids: set[int]) -> dict[int, bool]:
    """Which of these agreements `user` may see, each with whether they see the full record (else the summary):
    the rule `agreement_get` applies. One query."""
    qs, _ = _visible(user)
    return dict(qs.filter(pk__in=ids).values_list("pk", "full_view")) if ids else {}


CHECK_REFUSED = ("You can check sharing only for an agency you belong to (as the provider or the recipient), "
                 "or as an auditor.")


def may_ask_check(*, user: User, provider: str, recipient: str) -> bool:
    """May `user` ask whether `provider` may share with `recipient`? Members of either agency (any role), auditors
    of any agency, and superusers. The API and the page both ask this; it reads the user's cached roles."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool({provider, recipient} & user_agency_codes(user)) or bool(user_agency_codes(user, {Role.AUDITOR}))


def version_get(*, agreement: Agreement, number: int) -> AgreementVersion:
    """One version of an agreement already made visible by `agreement_get`, with its parties (and their agencies)
    and flows (datasets, agencies, legal bases) loaded: four queries. Http404 when it has no such version."""
    version = (
        AgreementVersion.objects.filter(agreement_id=agreement.pk, number=number)
        .prefetch_related(
            Prefetch("parties", queryset=Party.objects.select_related("agency").order_by(*Party._meta.ordering)),
            Prefetch("flows", queryset=Flow.objects.select_related("dataset", "provider", "recipient")
                     .prefetch_related("legal_bases").order_by("pk")),
        )
        .first()
    )
    if version is None:
        raise Http404("No such version.")
    return version


def agreement_get_full(*, user: User, reference: str) -> Agreement:
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
    AuditAction.AGREEMENT_REVIEW_REMINDED, AuditAction.AGREEMENT_WITHDRAWN, AuditAction.AGREEMENT_CHANGES_REQUESTED,
    AuditAction.AGREEMENT_COPIED, AuditAction.AGREEMENT_REVIEW_CONFIRMED, AuditAction.AGREEMENT_REVIEWED,
)
TIMELINE_LIMIT = 50
USAGE_DAYS = 30
CHECK_ACTIONS = (AuditAction.CHECK_ALLOWED, AuditAction.CHECK_DENIED)
def agreement_timeline(*, agreement: Agreement, limit: int = TIMELINE_LIMIT) -> list[AuditEvent]:
    """What happened to the agreement, newest first, from the audit log (one query on the object index).

    Ordered by `seq + 0`, not `seq`: with a LIMIT, PostgreSQL would otherwise walk the primary key backwards
    through the whole log (100 ms at a million events) instead of reading this agreement's rows by its index.
    """
    return list(
        AuditEvent.objects.filter(
            object_type="agreement", object_ref=agreement.reference, action__in=TIMELINE_ACTIONS
        ).select_related("actor__profile").order_by((F("seq") + 0).desc())[:limit]
    )


# The event that put the agreement (or its latest version) where it stands, said at the top of its page.
STANDING_ACTIONS = {
    AgreementStatus.SUSPENDED: AuditAction.AGREEMENT_SUSPENDED,
    AgreementStatus.REVOKED: AuditAction.AGREEMENT_REVOKED,
    AgreementStatus.REJECTED: AuditAction.AGREEMENT_REJECTED,
}


def agreement_standing_event(*, agreement: Agreement) -> AuditEvent | None:
    """Who suspended, revoked or rejected the agreement (or rejected its latest version, an amendment), when and
    why: the latest such event from the audit log, with the actor's name and agency. One query, or none."""
    action = STANDING_ACTIONS.get(agreement.status)
    current = agreement.current_version
    if action is None and current is not None and current.state == "rejected":
        action = AuditAction.AGREEMENT_REJECTED
    if action is None:
        return None
    return (
        AuditEvent.objects.filter(object_type="agreement", object_ref=agreement.reference, action=action)
        .select_related("actor__profile").order_by((F("seq") + 0).desc()).first()
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
