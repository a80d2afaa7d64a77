"""The role-aware dashboard: what waits for each of the user's roles, their agreements' reviews and end dates,
and recent activity. It reads agencies (roles) and audit (activity) below it. Every function here costs a fixed
number of queries, whatever the size of the register.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from agencies.choices import Role
from agencies.models import Agency
from agencies.selectors import user_agency_codes, user_roles
from audit.models import AuditEvent
from audit.selectors import events_concerning
from common.types import User

from . import lifecycle
from .choices import AgreementStatus, VersionState
from .lifecycle import Action
from .models import Agreement, AgreementVersion, Party, ReviewConfirmation
from .selectors import TIMELINE_ACTIONS

HORIZON_DAYS = 90
DASHBOARD_ROWS = 10
# Signed and not ended: in force today, suspended, or not started yet. Their reviews and end dates still matter to
# their officers. Not "in force today": that rule is agreements.status.in_force_today_q.
SIGNED_NOT_ENDED = (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED)

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
        agency = self.agency.name if self.agency else self.agreement.lead_agency.name  # the lead when none is given
        if self.action == Action.SIGN:
            return f"Sign for {agency}, version {self.version.number}"
        if self.action == Action.SUBMIT:
            return f"Send version {self.version.number} for signature (a draft of {self.agreement.lead_agency.name})"
        if self.action == Action.REVIEW:
            due = self.due or self.version.review_date
            when = "overdue since" if due < timezone.localdate() else "due"
            return f"Confirm the review for {agency}: {when} {due.day} {due:%B %Y}"
        return f"Reinstate it: {agency} suspended it"


# What "waiting for you" lists: the actions that wait on an officer, not those they may take at any time (suspend,
# revoke, amend, copy), which would list every agreement in force.
WAITING_ACTIONS = (Action.SIGN, Action.SUBMIT, Action.REVIEW, Action.REINSTATE)


def waiting_for(*, user: User, officer_ids: set[int], today: dt.date) -> list[Waiting]:
    """What waits for this officer, one query per action of WAITING_ACTIONS, each filtered by the lifecycle's own
    allowed states (`state_q`) and authority: the unsigned parties of a version awaiting signature (not the lead's
    when this officer last edited it), drafts of the agencies they lead for, reviews due within the horizon that
    their party has not confirmed, and suspensions their agency made."""
    horizon = today + dt.timedelta(days=HORIZON_DAYS)
    # The party's version is its agreement's current version, in a state the lifecycle lets parties sign: joined,
    # not asked as EXISTS, which PostgreSQL planned as a hash of every agreement awaiting signatures or active.
    signing = list(
        Party.objects.filter(agency_id__in=officer_ids, signed_at__isnull=True,
                             version__agreement__current_version=F("version"))
        .filter(lifecycle.state_q(Action.SIGN, prefix="version__agreement__"))
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
    items += [Waiting(Action.REINSTATE, a, a.version_in_force(), a.suspended_by) for a in suspended]
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
    """Agreements in which any of these agencies is a party to any version, or the lead. Read from the agencies'
    parties and led agreements (a UNION of ids), so it costs what these agencies have, not the whole register:
    as `pk IN (parties) OR lead`, PostgreSQL read every agreement and every version for any agency."""
    party_of = Party.objects.filter(agency_id__in=agency_ids).order_by().values("version__agreement_id")
    led = Agreement.objects.filter(lead_agency_id__in=agency_ids).order_by().values("pk")
    return Agreement.objects.filter(pk__in=party_of.union(led))


# What happened to agreements, for an officer's "recent activity"; not the views, lists and grants around them.
ACTIVITY_ACTIONS = TIMELINE_ACTIONS


def dashboard_for(*, user: User, today: dt.date) -> Dashboard:
    """What each of the user's roles needs to see first. One query for the roles, one per section shown."""
    pairs = user_roles(user)
    roles = {role for _agency, role in pairs}
    board = Dashboard(roles=roles)
    board.frontline = Role.FRONTLINE in roles
    board.auditor = Role.AUDITOR in roles or user.is_superuser
    admin_ids = {agency for agency, role in pairs if role == Role.AGENCY_ADMIN}
    if admin_ids:
        board.admin_agencies = [{"code": code, "name": name} for code, name in
                                Agency.objects.filter(pk__in=admin_ids).order_by("name").values_list("code", "name")]
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
