"""Reads for the pages that span every app: the role-aware dashboard, the public register and the sharing map.

`sharing_registry` is the top floor, so it may read agreements, agencies and audit models directly. Every
function here costs a fixed number of queries, whatever the size of the register.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from agencies.choices import Role
from agencies.models import Agency
from agencies.selectors import user_agency_codes, user_roles
from agreements import lifecycle
from agreements.choices import AgreementStatus, VersionState
from agreements.lifecycle import Action
from agreements.models import Agreement, AgreementVersion, Flow, Party, ReviewConfirmation
from agreements.selectors import TIMELINE_ACTIONS
from agreements.status import in_force_today_q
from audit.choices import AuditAction
from audit.models import AuditEvent
from audit.selectors import events_concerning

HORIZON_DAYS = 90
DASHBOARD_ROWS = 10
# Signed and not ended: in force today, suspended, or not started yet. Their reviews and end dates still matter to
# their officers. Not "in force today": that rule is agreements.status.in_force_today_q.
SIGNED_NOT_ENDED = (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED)

def action_text(action: str) -> str:
    """Plain English for an audit action: its label (the raw value for one no longer in the enum)."""
    try:
        return AuditAction(action).label
    except ValueError:
        return action


# The dashboard ---------------------------------------------------------------------------------------------


@dataclass
class Waiting:
    """One thing the lifecycle lets this officer do now and that waits for them: `action` on `agreement`, for
    `agency`, with the version it concerns and, for a review, its due date."""

    action: Action
    agreement: Agreement
    version: AgreementVersion
    agency: Agency | None = None
    due: dt.date | None = None
    party: Party | None = None  # for a signature: the unsigned party
    page_url: str | None = None
    action_url: str | None = None

    @property
    def text(self) -> str:
        if self.action == Action.SIGN:
            return f"Sign for {self.agency.name}, version {self.version.number}"
        if self.action == Action.SUBMIT:
            return f"Send version {self.version.number} for signature (a draft of {self.agreement.lead_agency.name})"
        if self.action == Action.REVIEW:
            when = "overdue since" if self.due < timezone.localdate() else "due"
            return f"Confirm the review for {self.agency.name}: {when} {self.due.day} {self.due:%B %Y}"
        return f"Reinstate it: {self.agency.name} suspended it"


# What "waiting for you" lists: the actions that wait on an officer, not those they may take at any time (suspend,
# revoke, amend, copy), which would list every agreement in force.
WAITING_ACTIONS = (Action.SIGN, Action.SUBMIT, Action.REVIEW, Action.REINSTATE)


def waiting_for(*, user: Any, officer_ids: set[int], today: dt.date) -> list[Waiting]:
    """What waits for this officer, one query per action of WAITING_ACTIONS, each filtered by the lifecycle's own
    allowed states (`state_q`) and authority: the unsigned parties of a version awaiting signature (not the lead's
    when this officer last edited it), drafts of the agencies they lead for, reviews due within the horizon that
    their party has not confirmed, and suspensions their agency made."""
    horizon = today + dt.timedelta(days=HORIZON_DAYS)
    signing = list(
        Party.objects.filter(agency_id__in=officer_ids, signed_at__isnull=True)
        .filter(Exists(Agreement.objects.filter(lifecycle.state_q(Action.SIGN),
                                                current_version_id=OuterRef("version_id"))))
        .exclude(Q(agency_id=F("version__agreement__lead_agency_id")) & Q(version__last_edited_by=user))
        .select_related("agency", "version__agreement")
        .order_by("version__submitted_at", "pk")[:DASHBOARD_ROWS]
    )
    items = [Waiting(Action.SIGN, p.version.agreement, p.version, p.agency, party=p) for p in signing]
    drafts = (
        Agreement.objects.filter(lifecycle.state_q(Action.SUBMIT), lead_agency_id__in=officer_ids)
        .select_related("current_version", "lead_agency").order_by("-current_version__updated_at", "-pk")
    )[:DASHBOARD_ROWS]
    items += [Waiting(Action.SUBMIT, a, a.current_version, a.lead_agency) for a in drafts]
    confirmed = ReviewConfirmation.objects.filter(version_id=OuterRef("version_id"), agency_id=OuterRef("agency_id"),
                                                  review_date=OuterRef("version__review_date"))
    reviews = (
        Party.objects.filter(agency_id__in=officer_ids, version__review_date__lte=horizon)
        .filter(Exists(Agreement.objects.filter(lifecycle.state_q(Action.REVIEW),
                                                in_force_version_id=OuterRef("version_id"))))
        .exclude(Exists(confirmed))
        .select_related("agency", "version__agreement")
        .order_by("version__review_date", "pk")[:DASHBOARD_ROWS]
    )
    items += [Waiting(Action.REVIEW, p.version.agreement, p.version, p.agency, due=p.version.review_date)
              for p in reviews]
    suspended = (
        Agreement.objects.filter(lifecycle.state_q(Action.REINSTATE), suspended_by_id__in=officer_ids)
        .select_related("in_force_version", "suspended_by").order_by("-updated_at", "-pk")
    )[:DASHBOARD_ROWS]
    items += [Waiting(Action.REINSTATE, a, a.in_force_version, a.suspended_by) for a in suspended]
    return items


@dataclass
class Dashboard:
    roles: set[str]
    frontline: bool = False
    auditor: bool = False
    governance: bool = False
    admin_agencies: list[dict[str, str]] = field(default_factory=list)
    awaiting_signature: list[Party] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    my_drafts: list[AgreementVersion] = field(default_factory=list)
    reviews_due: list[Agreement] = field(default_factory=list)
    expiring: list[Agreement] = field(default_factory=list)
    activity: list[AuditEvent] = field(default_factory=list)
    by_status: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_role(self) -> bool:
        return bool(self.roles)


def _agreements_of(agency_ids: set[int]) -> QuerySet[Agreement]:
    """Agreements in which any of these agencies is a party to any version, or the lead."""
    party_of = Party.objects.filter(agency_id__in=agency_ids).values("version__agreement_id")
    return Agreement.objects.filter(Q(pk__in=party_of) | Q(lead_agency_id__in=agency_ids))


# What happened to agreements, for an officer's "recent activity"; not the views, lists and grants around them.
ACTIVITY_ACTIONS = TIMELINE_ACTIONS


def dashboard_for(*, user: Any, today: dt.date) -> Dashboard:
    """What each of the user's roles needs to see first. One query for the roles, one per section shown."""
    pairs = user_roles(user)
    roles = {role for _agency, role in pairs}
    board = Dashboard(roles=roles)
    board.frontline = Role.FRONTLINE in roles
    board.auditor = Role.AUDITOR in roles or user.is_superuser
    admin_ids = {agency for agency, role in pairs if role == Role.AGENCY_ADMIN}
    if admin_ids:
        board.admin_agencies = list(Agency.objects.filter(pk__in=admin_ids).order_by("name").values("code", "name"))
    officer_ids = {agency for agency, role in pairs if role == Role.GOVERNANCE_OFFICER}
    if not officer_ids:
        return board
    board.governance = True
    horizon = today + dt.timedelta(days=HORIZON_DAYS)
    board.waiting = waiting_for(user=user, officer_ids=officer_ids, today=today)
    board.awaiting_signature = [item.party for item in board.waiting if item.party is not None]
    board.my_drafts = list(
        AgreementVersion.objects.filter(last_edited_by=user, state=VersionState.DRAFT)
        .select_related("agreement")
        .order_by("-updated_at", "-pk")[:DASHBOARD_ROWS]
    )
    mine_in_force = Agreement.objects.filter(
        status__in=SIGNED_NOT_ENDED,
        in_force_version__in=Party.objects.filter(agency_id__in=officer_ids).values("version_id"),
    ).select_related("in_force_version")
    board.reviews_due = list(
        mine_in_force.filter(in_force_version__review_date__lte=horizon).order_by(
            "in_force_version__review_date", "pk"
        )[:DASHBOARD_ROWS]
    )
    board.expiring = list(
        mine_in_force.filter(in_force_version__end_date__lte=horizon).order_by("in_force_version__end_date", "pk")[
            :DASHBOARD_ROWS
        ]
    )
    board.activity = list(
        events_concerning(user_agency_codes(user, {Role.GOVERNANCE_OFFICER}))
        .filter(action__in=ACTIVITY_ACTIONS).order_by("-seq")[:DASHBOARD_ROWS]
    )
    for event in board.activity:
        event.action_text = action_text(event.action)
    counts = dict(
        _agreements_of(officer_ids).order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    most = max(counts.values(), default=0)
    board.by_status = [
        {"status": status, "label": label, "count": counts.get(status, 0),
         "width": round(200 * counts.get(status, 0) / most) if most else 0}
        for status, label in AgreementStatus.choices
    ]
    return board


# The public register ---------------------------------------------------------------------------------------


def public_agreements(*, text: str = "") -> QuerySet[Agreement]:
    """Agreements in force today and the version in force: nothing else is public."""
    qs = Agreement.objects.filter(in_force_today_q()).select_related("in_force_version")
    text = text.strip()
    if text:
        party_named = Party.objects.filter(version_id=OuterRef("in_force_version_id"), agency__name__icontains=text)
        qs = qs.filter(
            Q(reference__iexact=text)
            | Q(in_force_version__title__icontains=text)
            | Q(in_force_version__purpose__icontains=text)
            | Exists(party_named)
        )
    return qs.order_by("-created_at", "-pk")


@dataclass
class PublicEntry:
    agreement: Agreement
    parties: list[str] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    legal_bases: list[dict[str, str]] = field(default_factory=list)


def public_entries(agreements: list[Agreement]) -> list[PublicEntry]:
    """Parties, flows and legal bases for one page of the register, in three queries. No people, no emails."""
    entries = {a.in_force_version_id: PublicEntry(agreement=a) for a in agreements}
    if not entries:
        return []
    for version_id, name in (
        Party.objects.filter(version_id__in=entries).order_by("agency__name").values_list("version_id", "agency__name")
    ):
        entries[version_id].parties.append(name)
    for flow in (
        Flow.objects.filter(version_id__in=entries)
        .order_by("pk")
        .values("version_id", "dataset__name", "provider__name", "recipient__name", "purpose")
    ):
        entries[flow["version_id"]].flows.append(flow)
    seen: dict[int, set[str]] = defaultdict(set)
    through = Flow.legal_bases.through
    for row in (
        through.objects.filter(flow__version_id__in=entries)
        .order_by("legalbasis__kind", "legalbasis__code")
        .values("flow__version_id", "legalbasis__code", "legalbasis__citation", "legalbasis__title")
    ):
        version_id = row["flow__version_id"]
        if row["legalbasis__code"] not in seen[version_id]:
            seen[version_id].add(row["legalbasis__code"])
            entries[version_id].legal_bases.append(
                {"citation": row["legalbasis__citation"], "title": row["legalbasis__title"]}
            )
    return [entries[a.in_force_version_id] for a in agreements]


# The sharing map -------------------------------------------------------------------------------------------

MAP_NODES = 40
MAP_FOCUS_EDGES = 200


def active_flows() -> QuerySet[Flow]:
    """Flows of the version in force of every agreement in force today: what may be shared today."""
    in_force = Agreement.objects.filter(in_force_today_q()).values("in_force_version_id")
    return Flow.objects.filter(version_id__in=in_force)


@dataclass
class SharingMap:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    total_agencies: int
    total_links: int
    focus: Agency | None = None


def _edge_rows(qs: QuerySet[Flow]) -> QuerySet:
    return qs.order_by().values("provider_id", "recipient_id").annotate(flows=Count("pk"))


def sharing_map(*, focus: Agency | None = None, limit: int = MAP_NODES) -> SharingMap:
    """Who shares with whom, aggregated in SQL: the busiest `limit` agencies, or one agency and its partners."""
    if focus is None:
        out_count = active_flows().filter(provider_id=OuterRef("pk")).order_by().values("provider_id")
        in_count = active_flows().filter(recipient_id=OuterRef("pk")).order_by().values("recipient_id")
        ranked = (
            Agency.objects.annotate(
                provides=Coalesce(Subquery(out_count.annotate(c=Count("pk")).values("c")), Value(0)),
                receives=Coalesce(Subquery(in_count.annotate(c=Count("pk")).values("c")), Value(0)),
            )
            .annotate(degree=F("provides") + F("receives"))
            .filter(degree__gt=0)
        )
        nodes = list(ranked.order_by("-degree", "name").values("pk", "code", "name", "kind", "provides", "receives")[
            :limit
        ])
        total_agencies = ranked.count() if len(nodes) >= limit else len(nodes)
        ids = [n["pk"] for n in nodes]
        edges = list(_edge_rows(active_flows().filter(provider_id__in=ids, recipient_id__in=ids)))
        total_links = _edge_rows(active_flows()).count()
        return SharingMap(nodes=nodes, edges=edges, total_agencies=total_agencies, total_links=total_links)

    touching = active_flows().filter(Q(provider_id=focus.pk) | Q(recipient_id=focus.pk))
    rows = list(_edge_rows(touching).order_by("-flows", "provider_id", "recipient_id")[:MAP_FOCUS_EDGES])
    partner_ids: list[int] = []
    for row in rows:
        partner = row["recipient_id"] if row["provider_id"] == focus.pk else row["provider_id"]
        if partner not in partner_ids and len(partner_ids) < limit:
            partner_ids.append(partner)
    partners = {a["pk"]: a for a in Agency.objects.filter(pk__in=partner_ids).values("pk", "code", "name", "kind")}
    focus_node = {"pk": focus.pk, "code": focus.code, "name": focus.name, "kind": focus.kind, "focus": True}
    nodes = [focus_node] + sorted(partners.values(), key=lambda n: (n["kind"], n["name"]))
    shown = {n["pk"] for n in nodes}
    edges = [r for r in rows if r["provider_id"] in shown and r["recipient_id"] in shown]
    for node in nodes:
        node["provides"] = sum(e["flows"] for e in edges if e["provider_id"] == node["pk"])
        node["receives"] = sum(e["flows"] for e in edges if e["recipient_id"] == node["pk"])
    total_partners = (
        Agency.objects.filter(
            Q(pk__in=touching.values("provider_id")) | Q(pk__in=touching.values("recipient_id"))
        ).exclude(pk=focus.pk).count()
        if len(partner_ids) >= limit
        else len(partner_ids)
    )
    total_links = _edge_rows(touching).count() if len(rows) >= MAP_FOCUS_EDGES else len(rows)
    return SharingMap(nodes=nodes, edges=edges, total_agencies=total_partners, total_links=total_links, focus=focus)
