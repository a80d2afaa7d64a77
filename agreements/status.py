"""How an agreement's status reads, and the one rule for "in force today".

`Agreement.status` is the lifecycle's (and the public contract's): `active` once every party has signed. An active
agreement is in force only between its signed version's start and end dates, so before its start date it reads
"Signed: starts 1 April 2027", and the register filters "in force today" apart from "signed, not started yet".
The dashboards, the public register and the sharing map all ask `in_force_today_q`.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import AgreementStatus
from .models import Agreement


class RegisterStatus(models.TextChoices):
    """What the register's status filter offers: the lifecycle's statuses, with "active" split by the dates."""

    DRAFT = AgreementStatus.DRAFT.value, "Draft"
    SUBMITTED = AgreementStatus.SUBMITTED.value, "Awaiting signatures"
    IN_FORCE = "in_force", "In force today"
    NOT_STARTED = "not_started", "Signed: not started yet"
    ACTIVE = AgreementStatus.ACTIVE.value, "Signed by every party (in force or not started yet)"
    SUSPENDED = AgreementStatus.SUSPENDED.value, "Suspended"
    REJECTED = AgreementStatus.REJECTED.value, "Rejected"
    REVOKED = AgreementStatus.REVOKED.value, "Revoked"
    EXPIRED = AgreementStatus.EXPIRED.value, "Expired"


def in_force_today_q(today: dt.date | None = None, *, prefix: str = "") -> Q:
    """Agreements in force today: active, and today within the signed version's dates."""
    today = today or timezone.localdate()
    return Q(**{f"{prefix}status": AgreementStatus.ACTIVE, f"{prefix}in_force_version__start_date__lte": today,
                f"{prefix}in_force_version__end_date__gte": today})


def not_started_q(today: dt.date | None = None, *, prefix: str = "") -> Q:
    """Agreements every party has signed whose start date is still to come."""
    today = today or timezone.localdate()
    return Q(**{f"{prefix}status": AgreementStatus.ACTIVE, f"{prefix}in_force_version__start_date__gt": today})


def register_status_q(value: str, today: dt.date | None = None) -> Q:
    """The filter for one of `RegisterStatus`'s values."""
    if value == RegisterStatus.IN_FORCE:
        return in_force_today_q(today)
    if value == RegisterStatus.NOT_STARTED:
        return not_started_q(today)
    return Q(status=value)


def starts_later(agreement: Agreement, today: dt.date | None = None) -> bool:
    """Signed by every party, but its start date is still to come. Reads `in_force_version` (select it)."""
    in_force = agreement.in_force_version if agreement.in_force_version_id else None
    return (agreement.status == AgreementStatus.ACTIVE and in_force is not None
            and in_force.start_date > (today or timezone.localdate()))


def in_force_today(agreement: Agreement, today: dt.date | None = None) -> bool:
    """`in_force_today_q` for one agreement already loaded with its `in_force_version`."""
    in_force = agreement.in_force_version if agreement.in_force_version_id else None
    today = today or timezone.localdate()
    return (agreement.status == AgreementStatus.ACTIVE and in_force is not None
            and in_force.start_date <= today <= in_force.end_date)


def status_code(agreement: Agreement, today: dt.date | None = None) -> str:
    """The status as pages show it: the lifecycle's, or `not_started` for an active agreement yet to start."""
    return RegisterStatus.NOT_STARTED.value if starts_later(agreement, today) else agreement.status


# What `get_status_display()` reads, read here directly: a page's 50 labels cost 0.8 ms through it (16 µs each).
_LABELS = dict(AgreementStatus.choices)


def status_label(agreement: Agreement, today: dt.date | None = None) -> str:
    """The status in words: "Signed: starts 1 April 2027" before the start date, else the lifecycle's label."""
    if starts_later(agreement, today):
        start = agreement.version_in_force().start_date
        return f"Signed: starts {start.day} {start:%B %Y}"
    return str(_LABELS.get(agreement.status, agreement.status))
