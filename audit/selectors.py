"""Reads of the audit log, limited to what the user may see.

Auditors see the events of the agencies they audit; superusers see everything. The audit app imports no other
app: which agencies a user audits comes from the functions AUDIT_AUDITED_AGENCY_CODES and AUDIT_AUDITED_AGENCIES
name (agencies.selectors), and events name agencies by code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Max, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from common.types import User, UserOrAnonymous

from . import witness
from .choices import AuditAction
from .models import AuditAlert, AuditCheckpoint, AuditEvent, AuditEventAgency, AuditVerification


def audited_agencies(*, user: User) -> list[tuple[str, str]]:
    """(code, name) of the agencies whose events `user` may read, by name (every agency for a superuser)."""
    return list(import_string(settings.AUDIT_AUDITED_AGENCIES)(user))


def _concerning(codes: Any) -> QuerySet:
    """The seqs of events that concern any of these agency codes (read from the agencies index)."""
    return AuditEventAgency.objects.filter(agency_code__in=codes).values("event_id")


def events_concerning(codes: Any) -> QuerySet:
    """Events that concern any of these agencies (through the agencies index)."""
    return AuditEvent.objects.filter(seq__in=_concerning(codes))


def may_see_event(*, user: User, event: AuditEvent) -> bool:
    """An auditor sees an event when they audit any agency it concerns; a superuser sees every event."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(set(event.agencies or []) & set(audited_codes(user=user)))


def audited_codes(*, user: User) -> list[str]:
    """The codes of the agencies `user` audits (not a superuser's every agency): one query, kept on the user for
    the request, since the role check, the list and its count all ask."""
    cached = getattr(user, "_audited_agency_codes", None)
    if cached is None:
        cached = sorted(import_string(settings.AUDIT_AUDITED_AGENCY_CODES)(user))
        user.__dict__["_audited_agency_codes"] = cached  # read back by the getattr above, for the rest of the request
    return cached


def is_auditor(*, user: UserOrAnonymous) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or bool(audited_codes(user=user))


@dataclass(frozen=True)
class EventFilters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    agency: str = ""
    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_ref: str = ""

    def as_detail(self) -> dict[str, str]:
        """The filters in use, for the audit event that records the search."""
        values = {
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "agency": self.agency,
            "action": self.action,
            "actor": self.actor,
            "object_type": self.object_type,
            "object_ref": self.object_ref,
        }
        return {key: value for key, value in values.items() if value}


def event_list(*, user: User, filters: EventFilters | None = None, newest_first: bool = False) -> QuerySet:
    """Events `user` may read (those concerning an agency they audit: `may_see_event` as a query), filtered, with
    their seals joined. One query, through the agencies index and the action/at and actor/at indexes."""
    filters = filters or EventFilters()
    events = AuditEvent.objects.select_related("seal")
    if not user.is_superuser:
        # The codes as values, not a subquery: the planner then knows how many events each agency has (the busiest
        # agencies are in its statistics) and reads a small agency's few events by the index, but walks the log
        # backwards for a busy one, stopping after a page.
        events = events.filter(seq__in=_concerning(audited_codes(user=user)))
    if filters.since:
        events = events.filter(at__gte=filters.since)
    if filters.until:
        events = events.filter(at__lt=filters.until)
    if filters.agency:
        events = events.filter(seq__in=_concerning([filters.agency]))
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        # A person's events by their account (indexed on actor, at); a system actor's by its name.
        actor_ids = list(get_user_model().objects.filter(username=filters.actor).values_list("pk", flat=True)[:1])
        events = events.filter(actor_id=actor_ids[0]) if actor_ids else events.filter(actor_name=filters.actor)
    if filters.object_type:
        events = events.filter(object_type=filters.object_type)
    if filters.object_ref:
        events = events.filter(object_ref=filters.object_ref)
    return events.order_by("-seq" if newest_first else "seq")


def event_count(*, user: User, filters: EventFilters | None = None, cap: int | None = None) -> int:
    """How many events `event_list` gives (at most `cap`), cheaply: when only agencies narrow the list, from the
    agencies index alone, which holds an agency's events in one stretch; otherwise by counting the list."""
    filters = filters or EventFilters()
    narrowed = any((filters.since, filters.until, filters.action, filters.actor, filters.object_type,
                    filters.object_ref))
    if narrowed or (user.is_superuser and not filters.agency):
        counted = event_list(user=user, filters=filters).order_by()
    else:
        # An agency filter is one the user audits (the forms check it), so it narrows the auditor's own agencies.
        codes = [filters.agency] if filters.agency else audited_codes(user=user)
        counted = AuditEventAgency.objects.filter(agency_code__in=codes).order_by()
        if len(codes) > 1:  # an event may concern several of them
            counted = counted.values("event_id").distinct()
    return counted[:cap].count() if cap is not None else counted.count()


def checkpoint_list(*, position_from: int | None = None, position_to: int | None = None) -> QuerySet:
    checkpoints = AuditCheckpoint.objects.order_by("position", "id")
    if position_from is not None:
        checkpoints = checkpoints.filter(position__gte=position_from)
    if position_to is not None:
        checkpoints = checkpoints.filter(position__lte=position_to)
    return checkpoints


def last_verification() -> AuditVerification | None:
    """The latest run that the witness holds, signed (audit.chain.witness_verification): the runtime role may insert
    rows in this table, so a row alone proves nothing. A newer failed run is shown whatever wrote it (forging a
    failure only raises the alarm); newer successful rows the witness lacks are skipped, and counted in the
    returned run's `unwitnessed` so the page can say so. Rows dated in the future are ignored."""
    from .canonical import canonical_at
    from .chain import FUTURE_SKEW, witnessed_verifications

    try:
        witnessed = {entry["id"]: entry for entry in witnessed_verifications()}
    except (witness.WitnessError, ImproperlyConfigured):
        witnessed = {}
    runs = (AuditVerification.objects.select_related("requested_by")
            .filter(ran_at__lte=timezone.now() + FUTURE_SKEW).order_by("-ran_at", "-id"))
    shown = None
    for row in runs.filter(pk__in=list(witnessed)):
        entry = witnessed[row.pk]
        if (entry["ok"], entry["ran_at"], entry["events"]) == (row.ok, canonical_at(row.ran_at), row.events):
            shown = row
            setattr(shown, "witnessed", True)  # noqa: B010 - for the template
            break
    newer = runs.exclude(pk__in=list(witnessed))
    if shown is not None:
        newer = newer.filter(ran_at__gt=shown.ran_at)
    counted = newer.aggregate(unwitnessed=Count("pk", filter=Q(ok=True)), failed=Max("pk", filter=Q(ok=False)))
    if counted["failed"] is not None:  # rare: one more query
        shown = runs.get(pk=counted["failed"])
        setattr(shown, "witnessed", False)  # noqa: B010
    if shown is not None:
        setattr(shown, "unwitnessed", counted["unwitnessed"])  # noqa: B010
    return shown


def pending_verification_request() -> Mapping[str, Any] | None:
    """The newest auditor's request for a verification that no run has answered yet (two indexed queries)."""
    request = (AuditEvent.objects.filter(action=AuditAction.AUDIT_VERIFY_REQUESTED).order_by("-at")
               .values("at", "actor_name").first())
    if request is None:
        return None
    answered = AuditVerification.objects.filter(ran_at__gte=request["at"], requested_by__isnull=False).exists()
    return None if answered else request


def recent_alerts(*, days: int = 30, limit: int = 3) -> list[AuditAlert]:
    """The sealer's refusals to sign, newest first: shown to auditors as a banner."""
    since = timezone.now() - dt.timedelta(days=days)
    return list(AuditAlert.objects.filter(raised_at__gte=since).order_by("-raised_at", "-id")[:limit])


def sealing_overdue(*, now: dt.datetime | None = None) -> dict | None:
    """Whether signing has fallen behind: an event newer than the last checkpoint exists, and that checkpoint (or,
    with none, the oldest event) is older than AUDIT_SEAL_WINDOW_SECONDS. Beat stopped or its schedule disabled, no
    writer left to seal in its place, or the sealer refusing to sign: auditors see it on their page, monitoring on
    /healthz. One query. Returns {"since": when the last checkpoint was signed or None, "seq": the oldest
    unsigned event} or None."""
    now = now or timezone.now()
    window = dt.timedelta(seconds=settings.AUDIT_SEAL_WINDOW_SECONDS)
    last = AuditCheckpoint.objects.order_by("-position", "-id")
    unsigned = (AuditEvent.objects.filter(seq__gt=Coalesce(Subquery(last.values("seq_high")[:1]), 0))
                .annotate(since=Subquery(last.values("created_at")[:1])).order_by("seq")
                .values("seq", "at", "since").first())  # one query
    if unsigned is None:
        return None
    since = unsigned["since"]
    if (since or unsigned["at"]) > now - window:
        return None
    return {"since": since, "seq": unsigned["seq"]}
