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
from functools import cached_property, reduce
from operator import or_
from typing import Any, TypeVar, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections, router
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.http import Http404
from django.utils import timezone

from agencies.choices import Role
from agencies.models import Agency
from agencies.selectors import user_agency_codes
from audit.choices import AuditAction
from audit.models import AuditEvent
from common.types import User

from . import sql
from .choices import AgreementStatus
from .models import (
    Agreement,
    AgreementGroupObjectPermission,
    AgreementVersion,
    Flow,
    LegalBasis,
    Party,
    VersionComment,
)
from .status import register_status_q


def _view_grants(user: User) -> QuerySet[AgreementGroupObjectPermission]:
    """The user's `view_agreement` grants, shaped so the planner reads them from guardian's unique index
    (group_id, permission_id, content_object_id): the groups straight from auth_user_groups and the permission
    as one scalar subquery, rather than a join through auth_group, auth_permission and django_content_type for
    every grant row."""
    groups = get_user_model().groups.through.objects.filter(user_id=user.pk).values("group_id")
    permission = Permission.objects.filter(
        codename="view_agreement", content_type__app_label="agreements", content_type__model="agreement"
    ).order_by().values("pk")[:1]
    return AgreementGroupObjectPermission.objects.filter(group_id__in=groups, permission_id=Subquery(permission))


# What a page of agreements shows of each version: its parties (with agency and signer) and its flows (with
# dataset, agencies and, in the same query, legal bases). Both versions of every agreement on the page at once.
def _terms() -> list[Prefetch]:
    return [
        # The agency as one JSON column read by its key for each party, not joined: for a page's 150 parties
        # PostgreSQL hashed the whole agency table (7 ms at 10,000 agencies). Ordered by agency name, as Party is.
        # The signer by username alone (`signer_username`, all the API shows of them): selecting the whole user
        # made a User for each signature on the page, each also remembered for the audit of user changes
        # (accounts.signals). A list for each version (to_attr), not a queryset made for each.
        Prefetch("parties", queryset=Party.objects.annotate(
            agency_json=sql.agency_json(), signer_username=F(f"signed_by__{get_user_model().USERNAME_FIELD}"))
                 .order_by("version_id", sql.agency_name(), "pk"), to_attr="loaded_parties"),
        # Not joined to their agencies: every provider and recipient is a party (rules.py makes the parties from
        # the flows), already loaded with the parties, and a join would read the whole agency table at this size.
        Prefetch("flows", queryset=Flow.objects.select_related("dataset")
                 .annotate(bases_json=sql.legal_bases_json()).order_by("pk"), to_attr="loaded_flows"),
    ]


AgreementT = TypeVar("AgreementT", bound=Agreement)


def load_terms(agreements: list[AgreementT]) -> list[AgreementT]:
    """Load the parties and flows (with legal bases) of the current and in-force versions of `agreements`, as
    `version.party_list()`, `version.flow_list()` and `flow.basis_list()` read them: two queries for any page,
    whichever versions the agreements have (prefetching through each relation would take six). The agreements
    must come with `current_version` and `in_force_version` selected (every selector here does). One object for
    each version, agency and legal basis, however many rows name it: the lead agency, always a party, is set from
    the parties' agencies."""
    for agreement in agreements:
        if agreement.in_force_version_id is not None and agreement.in_force_version_id == agreement.current_version_id:
            agreement.in_force_version = agreement.current_version  # one object for the one version: loaded once
    versions = list({id(version): version for agreement in agreements
                     for version in (agreement.current_version, agreement.in_force_version) if version is not None}
                    .values())
    if not versions:
        return agreements
    prefetch_related_objects(versions, *_terms())
    # The JSON columns are dropped once read: kept, each party's and flow's would live (and be walked by the garbage
    # collector) as long as the page.
    agencies: dict[int, Agency] = {}
    for version in versions:
        for party in version.party_list():
            agency_json = vars(party).pop("agency_json", None)
            if party.agency_id not in agencies:
                agencies[party.agency_id] = sql.agency_from_json(agency_json)
            party.agency = agencies[party.agency_id]
    flows = {flow.pk: flow for version in versions for flow in version.flow_list()}
    named = {pk for flow in flows.values() for pk in (flow.provider_id, flow.recipient_id)}
    strays = (named | {agreement.lead_agency_id for agreement in agreements}) - agencies.keys()
    if strays:  # never, by construction; one query if it ever happens
        agencies.update(Agency.objects.in_bulk(strays))
    for agreement in agreements:
        agreement.lead_agency = agencies[agreement.lead_agency_id]  # a party: not selected with every row again
    bases: dict[int, LegalBasis] = {}
    for flow in flows.values():
        flow.provider, flow.recipient = agencies[flow.provider_id], agencies[flow.recipient_id]
        flow.loaded_bases = sql.legal_bases_from_json(vars(flow).pop("bases_json", None), bases)
    return agreements


def _among(column: str, rows: QuerySet[Any], field: str, *, probe: bool) -> Q:
    """The agreement's `column` is one of the values of `rows`' `field`. With `probe`, a look-up of `rows`' index for
    each agreement read, which suits a page (a few hundred rows at most): as a set, PostgreSQL reads and hashes every
    row of `rows` before the first agreement, whoever it is for (a hub member's 10,000 grants, several times over).
    Without, the set, which suits counting and pages deep into the register."""
    if probe:
        return Q(sql.Probe(rows.filter(**{field: OuterRef(column)})))
    return Q(**{f"{column}__in": rows.values(field)})


@dataclass(frozen=True)
class _StandInUser:
    """What a search reads of its user, for `AgreementSearch.template` (not a User: no model to build and count)."""

    pk: int | None
    is_superuser: bool
    is_authenticated: bool = True


@dataclass(frozen=True)
class AgreementSearch:
    """One user's search of the register: every agreement they may see that matches `filters` (status, agency,
    dataset, legal_basis, q), as `rows` in the register's order and, for counting, as disjoint `parts`.

    Anyone signed in sees active agreements; the full record, drafts included, needs the `view_agreement` grant
    (any role of a party agency); superusers see everything. Filters match the in-force terms for everyone and the
    current terms only where the user sees the full record, so that a filter cannot reveal what a draft says. Each
    filter is a list of branches, any of which matches; `rows` and `parts` are built from the same branches.
    """

    user: User
    filters: Mapping[str, Any]

    @cached_property
    def _grants(self) -> QuerySet[AgreementGroupObjectPermission] | None:
        """The user's grants (None: a superuser, who sees everything in full)."""
        return None if self.user.is_superuser else _view_grants(self.user)

    def _full(self, *, probe: bool) -> Q | None:
        """The user sees the agreement's full record (None: always)."""
        grants = self._grants
        return None if grants is None else _among("pk", grants, "content_object_id", probe=probe)

    @staticmethod
    def _visible(full: Q | None) -> Q | None:
        """Active, or the full record (None: everything). Active first: a page of active agreements never needs
        the grants at all."""
        return None if full is None else Q(status=AgreementStatus.ACTIVE) | full

    @staticmethod
    def _matching(versions: QuerySet[Any], field: str, full: Q | None, *, probe: bool) -> list[Q]:
        """Branches: the in-force terms are among `versions`, or the current terms are where the user sees them."""
        in_force = _among("in_force_version_id", versions, field, probe=probe)
        current = _among("current_version_id", versions, field, probe=probe)
        return [in_force, current if full is None else current & full]

    def _branches(self, full: Q | None, *, probe: bool) -> list[list[Q]]:
        """Each filter given, as its branches (one for a filter that is a single condition)."""
        filters = self.filters
        found: list[list[Q]] = []
        if status := filters.get("status"):
            found.append([register_status_q(status)])
        if agency := filters.get("agency"):
            agency_id = Subquery(Agency.objects.filter(code=agency).order_by().values("pk")[:1])  # codes are unique
            parties = Party.objects.filter(agency_id=agency_id)
            found.append([*self._matching(parties, "version_id", full, probe=probe), Q(lead_agency_id=agency_id)])
        if dataset := filters.get("dataset"):
            found.append(self._matching(Flow.objects.filter(dataset__code=dataset), "version_id", full, probe=probe))
        if legal_basis := filters.get("legal_basis"):
            flows = Flow.objects.filter(legal_bases__code=legal_basis)
            found.append(self._matching(flows, "version_id", full, probe=probe))
        if text := (filters.get("q") or "").strip():
            versions = AgreementVersion.objects.filter(Q(title__icontains=text) | Q(purpose__icontains=text))
            found.append([*self._matching(versions, "pk", full, probe=probe), Q(reference__iexact=text)])
        return found

    @cached_property
    def _rows(self) -> dict[bool, QuerySet[Agreement]]:
        return {}

    def rows(self, *, probe: bool = True) -> QuerySet[Agreement]:
        """The matching agreements, newest first, each with `full_view`, and with both versions selected (give the
        page shown to `load_terms`, which sets the lead agency too: it is a party). `probe` (the default) for the
        first pages and single rows; without, for reading deep into the register. Built once for each search (a view
        and its paginator both ask; building it is a good part of a page's CPU)."""
        if probe not in self._rows:
            self._rows[probe] = self._build(probe=probe)
        return self._rows[probe]

    def _build(self, *, probe: bool) -> QuerySet[Agreement]:
        qs = Agreement.objects.all()
        if not getattr(self.user, "is_authenticated", False):
            return qs.none()
        grants = self._grants
        if grants is None:
            qs, full = qs.annotate(full_view=Value(True, output_field=BooleanField())), None
        else:  # the filters read the annotation: one look-up (or one set) however many times they ask
            mine = grants.filter(content_object_id=OuterRef("pk"))
            qs, full = qs.annotate(full_view=sql.Probe(mine) if probe else Exists(mine)), Q(full_view=True)
        visible = self._visible(full)
        if visible is not None:
            qs = qs.filter(visible)
        for branches in self._branches(full, probe=probe):
            qs = qs.filter(reduce(or_, branches))
        return qs.select_related("current_version", "in_force_version").order_by("-created_at", "-id")

    # The filters whose values are parameters, as given, of the page's query; with any other (a status, which may
    # read today's date, or a text, which LIKE escapes), the page's query is compiled for each request.
    SLOTTED = ("agency", "dataset", "legal_basis")
    STAND_IN_PK = -1_999_999_937  # no user's: a stand-in, as a parameter, for the user's id (`Shape`)

    def shape(self) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        """For reusing the page's compiled query (`sql.Shape`): the key of this search's shape and this search's own
        values for its slots. None when its query is not shaped that way (signed out, or a status or text filter)."""
        user, filters = self.user, self.filters
        if not getattr(user, "is_authenticated", False) or any(
                filters.get(name) for name in filters if name not in self.SLOTTED):
            return None
        given = tuple(name for name in self.SLOTTED if filters.get(name))
        values: dict[str, Any] = {name: filters[name] for name in given}
        if not user.is_superuser:
            values["user"] = user.pk
        return (user.is_superuser, given), values

    def template(self) -> AgreementSearch:
        """The same search for a stand-in user and stand-in filter values (`stand_ins`), made only to compile."""
        stand_in = _StandInUser(pk=None if self.user.is_superuser else self.STAND_IN_PK,
                                is_superuser=self.user.is_superuser)
        given = (name for name in self.SLOTTED if self.filters.get(name))
        return AgreementSearch(user=cast(User, stand_in), filters={name: f"\x00{name}\x00" for name in given})

    def stand_ins(self) -> dict[str, Any]:
        """The stand-in values of a `shape()` template, by slot name."""
        slots = {name: value for name, value in self.filters.items() if value}
        return slots if self.user.is_superuser else {**slots, "user": self.STAND_IN_PK}

    def parts(self, *, probe: bool = True) -> list[QuerySet[Agreement]]:
        """The same agreements as `rows`, split into disjoint parts that PostgreSQL reads from their most selective
        index (the agency's parties, the user's grants, the active agreements), for counting: the first filter with
        more than one branch is split branch by branch (each part leaving out the earlier branches); with none,
        the active agreements and then the others the user may see in full. `probe`: whether the user's grants are
        looked up for each row a part reads (when counting stops at a cap), or read as a set (counting them all)."""
        if not getattr(self.user, "is_authenticated", False):
            return []
        base = Agreement.objects.all()
        full = self._full(probe=False)
        branches = self._branches(full, probe=False)
        split = next((i for i, either in enumerate(branches) if len(either) > 1), None)
        for i, either in enumerate(branches):
            if i != split:
                base = base.filter(reduce(or_, either))
        if split is not None:
            visible = self._visible(self._full(probe=probe))
            if visible is not None:
                base = base.filter(visible)
            pieces = branches[split]
        elif full is not None:
            pieces = [Q(status=AgreementStatus.ACTIVE), full]
        else:
            return [base]
        return [base.filter(piece, *[~earlier for earlier in pieces[:i]]) for i, piece in enumerate(pieces)]


def agreement_search(*, user: User, filters: Mapping[str, Any] | None = None) -> AgreementSearch:
    """The register's search for `user` (see AgreementSearch): `RegisterPaginator` pages it."""
    return AgreementSearch(user=user, filters=dict(filters or {}))


def agreement_list(*, user: User, filters: Mapping[str, Any] | None = None) -> QuerySet[Agreement]:
    """Agreements the user may see, newest first, filtered by status (a `RegisterStatus`: the lifecycle's, or in force
    today, or signed but not started), agency, dataset, legal_basis and q. Give the page shown to `load_terms`."""
    return agreement_search(user=user, filters=filters).rows()


REGISTER_COUNT_CAP = 1000
MAX_OFFSET = 2**31 - 1
# How deep into the register a page is read row by row (`AgreementSearch.rows(probe=True)`); past it, from the sets
# (for the hub member, looking up 400 rows cost more than hashing the sets: 52 ms against 46 ms).
PROBE_REACH = 250


class RegisterPage(Page):
    more = False  # the page's query found a row past it

    def has_next(self) -> bool:
        return self.more


# The page query's columns, for `RegisterPaginator._read`: the agreement's, its two annotations, then each
# version's (by the field, for reading each value as the ORM would).
_AGREEMENT_FIELDS = Agreement._meta.concrete_fields
_VERSION_FIELDS = AgreementVersion._meta.concrete_fields
_PAGE_COLUMNS: list[tuple[str, Any]] = [
    *((field.attname, field) for field in _AGREEMENT_FIELDS),
    ("full_view", BooleanField()), ("register_count", IntegerField()),
    *((f"current_version__{field.attname}", field) for field in _VERSION_FIELDS),
    *((f"in_force_version__{field.attname}", field) for field in _VERSION_FIELDS),
]
_SHAPES: dict[tuple[Any, ...], sql.Shape] = {}  # by shape and page: a few dozen at most (first pages only)


_PAGE_ROW = sql.RowReader([field for _, field in _PAGE_COLUMNS])
_AGREEMENT_NAMES = [field.attname for field in _AGREEMENT_FIELDS]
_VERSION_NAMES = [field.attname for field in _VERSION_FIELDS]


def _page_row(alias: str, row: list[Any]) -> Agreement:
    values = _PAGE_ROW.values(connections[alias], row)
    n, m = len(_AGREEMENT_FIELDS), len(_VERSION_FIELDS)
    agreement = Agreement.from_db(alias, _AGREEMENT_NAMES, values[:n])
    vars(agreement).update(full_view=bool(values[n]), register_count=values[n + 1])  # the annotations
    names = _VERSION_NAMES
    for i, name in ((n + 2, "current_version"), (n + 2 + m, "in_force_version")):
        own = values[i:i + m]
        setattr(agreement, name, None if own[0] is None else AgreementVersion.from_db(alias, names, own))
    return agreement


class RegisterPaginator(Paginator):
    """Pages of an `AgreementSearch`, each page and its count in one query, with the terms of both versions loaded
    (`load_terms`): three queries in all.

    The count stops at REGISTER_COUNT_CAP + 1 (`capped`: "more than 1,000"), so a page costs the same for a member
    who sees 10,000 agreements or 64,000: it is counted from the search's `parts`, each read from its most selective
    index, and the later ones only while the earlier have not reached the cap. Past the cap, any page may still be
    asked for; whether there is a next one is read from one row more. Page "last" counts every row (`exact`) and
    reads the last page from the old end of the register, still in one query.
    """

    cap = REGISTER_COUNT_CAP
    object_list: QuerySet[Agreement]
    LAST = "last"

    def __init__(self, search: AgreementSearch, per_page: int, *, cap: int | None = None, **kwargs: Any):
        super().__init__(search.rows(), per_page, **kwargs)
        self.search = search
        if cap is not None:
            self.cap = cap
        self.exact = False  # every row counted (page "last")

    def _ids(self, cap: int | None) -> QuerySet[Any] | None:
        """The ids of the matching agreements, part after part (None: nothing is visible)."""
        parts = [part.order_by().values("pk") for part in self.search.parts(probe=cap is not None)]
        return (parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]) if parts else None

    def _counted(self, cap: int | None) -> Any:
        """How many agreements match, as an expression for the page's query: up to `cap` + 1, or every one."""
        ids = self._ids(cap)
        return Value(0, output_field=IntegerField()) if ids is None else sql.BoundedCount(ids, cap)

    @cached_property
    def count(self) -> int:
        """Only for a page never asked for: `page()` sets it from its own query."""
        ids = self._ids(self.cap)
        return 0 if ids is None else ids[:self.cap + 1].count()

    @property
    def capped(self) -> bool:
        """There are more rows than the cap; `count` is then cap + 1 and `num_pages` only as far as that."""
        return not self.exact and self.count > self.cap

    @property
    def shown_count(self) -> int:
        """The count to show: every matching row, or the cap when there are more ("more than 1,000")."""
        return self.cap if self.capped else self.count

    def validate_number(self, number: Any) -> int:
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.capped:  # past the cap, the page's own query says whether it exists
                return int(number)
            raise

    def page(self, number: Any) -> RegisterPage:
        if number == self.LAST:
            return self._last()
        number = self.validate_number_format(number)
        bottom = (number - 1) * self.per_page
        if bottom > MAX_OFFSET:  # past any register there could be, and past what a database takes as an OFFSET
            raise EmptyPage("That page contains no results")
        near = bottom + self.per_page < PROBE_REACH  # object_list reads row by row, which suits the first pages
        shape = self.search.shape() if near else None
        rows: list[Any] = list(self._page_query(self.search, bottom)) if shape is None else self._read(shape, bottom)
        if rows:
            self.count = rows[0].register_count  # the count the page's query brought
        elif number > 1:
            raise EmptyPage("That page contains no results")
        else:
            self.count = 0
        page = RegisterPage(load_terms(rows[:self.per_page]), number, self)
        page.more = len(rows) > self.per_page
        return page

    def _page_query(self, search: AgreementSearch, bottom: int) -> QuerySet[Agreement]:
        """The page from `bottom` and one row more, each row with the count (`register_count`)."""
        near = bottom + self.per_page < PROBE_REACH
        counted = RegisterPaginator(search, self.per_page, cap=self.cap)._counted(self.cap)
        return (search.rows(probe=near).annotate(register_count=counted)[bottom:bottom + self.per_page + 1])

    def _read(self, shape: tuple[tuple[Any, ...], dict[str, Any]], bottom: int) -> list[Agreement]:
        """`_page_query`'s rows, from its SQL compiled once for the search's shape (`sql.Shape`) and read as the
        ORM reads them: each agreement with both versions (select_related) and the two annotations."""
        key, values = shape
        alias = router.db_for_read(Agreement)
        key = (alias, connections[alias].vendor, *key, bottom, self.per_page, self.cap)
        compiled = _SHAPES.get(key)
        if compiled is None:
            columns = {f"c{i}": F(path) for i, (path, _) in enumerate(_PAGE_COLUMNS)}
            template = self.search.template()
            compiled = _SHAPES[key] = sql.Shape(
                self._page_query(template, bottom).values(**columns), template.stand_ins())
        with connections[alias].cursor() as cursor:
            cursor.execute(compiled.sql, compiled.params(values))
            at = {column[0]: i for i, column in enumerate(cursor.description)}
            order = [at[f"c{i}"] for i in range(len(_PAGE_COLUMNS))]
            found = cursor.fetchall()
        return [_page_row(alias, [row[i] for i in order]) for row in found]

    def _last(self) -> RegisterPage:
        """The last page, with every row counted: the oldest rows, read from the register's old end with the count
        in the same query, and as many of them as the last page holds."""
        self.exact = True
        oldest = list(self.object_list.reverse().annotate(register_count=self._counted(None))[:self.per_page])
        self.count = oldest[0].register_count if oldest else 0
        number = self.num_pages
        shown = self.count - (number - 1) * self.per_page
        return RegisterPage(load_terms(oldest[:shown][::-1]), number, self)

    def validate_number_format(self, number: Any) -> int:
        """A whole number from 1 (the checks Paginator.validate_number makes before it counts)."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger("That page number is not an integer") from exc
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number


def register_page(request: Any, search: AgreementSearch, per_page: int) -> RegisterPage:
    """The page the request asks for (?page=, or "last") with its terms loaded; the first for nonsense or a page past
    the end (whose number, past the cap, only its own query could tell)."""
    paginator = RegisterPaginator(search, per_page)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except (PageNotAnInteger, EmptyPage):
        return RegisterPaginator(search, per_page).page(1)


def agreement_get(*, user: Any, reference: str) -> Agreement:
    """One agreement the user may see, with the terms of its current and in-force versions (`load_terms`), or
    Http404 (exactly as if it did not exist). Three queries."""
    agreement = (
        agreement_search(user=user).rows().filter(reference=reference).select_related("created_by", "suspended_by")
        .first()
    )
    if agreement is None:
        raise Http404("No agreement with that reference is visible to you.")
    load_terms([agreement])
    return agreement


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
            Prefetch("parties",
                     queryset=Party.objects.select_related("agency").order_by(*(Party._meta.ordering or []))),
            Prefetch("flows", queryset=Flow.objects.select_related("dataset", "provider", "recipient")
                     .prefetch_related("legal_bases").order_by("pk")),
        )
        .first()
    )
    if version is None:
        raise Http404("No such version.")
    return version


def version_comments(*, version: AgreementVersion) -> QuerySet[VersionComment]:
    """One version's thread, oldest first, with each author's name and agency: one query. The caller has made the
    agreement's full record visible (`agreement_get_full`)."""
    return (VersionComment.objects.filter(version=version).select_related("agency", "author__profile")
            .order_by("created_at", "id"))


def agreement_get_full(*, user: User, reference: str) -> Agreement:
    """An agreement whose full record the user may see (the printable page), or Http404."""
    agreement = agreement_get(user=user, reference=reference)
    if not getattr(agreement, "full_view", False):  # _visible's annotation
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
    AuditAction.AGREEMENT_COMMENTED,
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
    action = STANDING_ACTIONS.get(AgreementStatus(agreement.status))
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
