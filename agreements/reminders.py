"""Review reminders: 90, 30 and 0 days before an agreement's review date, to the governance officers of every party.

Which threshold is due: for an active or suspended agreement whose in-force version is reviewed in `d` days, the
smallest threshold T (of REVIEW_REMINDER_DAYS) with d <= T, provided d >= T - REVIEW_REMINDER_CATCH_UP_DAYS. So
the 90-day reminder goes on day 90, or on the next run within the catch-up window if beat missed that day; an
agreement signed 60 days before its review is not sent a stale "90 days" notice; and the 0-day reminder covers a
review that is due today or has just passed.

Once only. The send claims a `ReviewReminder` row (unique per version and threshold) and commits it, then sends,
then marks the row sent and records `agreement.review_reminded` in one transaction. A second run finds the claim
and sends nothing. If sending raises, the claim is deleted and the task retries, so a mail outage delays the
reminder rather than losing it. If the process dies between the send and the mark (a window of milliseconds), the
claim stays unsent and is not retried: at most once, by choice, since a duplicate is worse than a late manual
check. Such claims are logged as a warning by every daily run, so an administrator can look.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from agencies.choices import Role
from audit.choices import AuditAction
from audit.services import record
from common import mail

from . import notices
from .choices import AgreementStatus
from .models import Agreement, AgreementVersion, ReviewReminder
from .services import agreement_agency_codes

logger = logging.getLogger(__name__)

REMINDED_STATUSES = (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED)
STALE_CLAIM = dt.timedelta(hours=1)


def threshold_for(*, days_left: int) -> int | None:
    """The threshold due when the review is `days_left` days away (negative once it has passed), if any."""
    catch_up = max(0, settings.REVIEW_REMINDER_CATCH_UP_DAYS)
    for threshold in sorted(settings.REVIEW_REMINDER_DAYS):
        if days_left <= threshold:
            return threshold if days_left >= threshold - catch_up else None
    return None


def review_reminders_due(*, today: dt.date) -> list[tuple[int, int]]:
    """(version id, threshold) for every reminder due today and not yet claimed. Two queries."""
    catch_up = max(0, settings.REVIEW_REMINDER_CATCH_UP_DAYS)
    candidates = (
        Agreement.objects.filter(
            status__in=REMINDED_STATUSES,
            in_force_version__review_date__gte=today - dt.timedelta(days=catch_up),
            in_force_version__review_date__lte=today + dt.timedelta(days=max(settings.REVIEW_REMINDER_DAYS)),
        )
        .order_by("in_force_version_id")
        .values_list("in_force_version_id", "in_force_version__review_date")
    )
    wanted, dates = {}, {}
    for version_id, review_date in candidates:
        threshold = threshold_for(days_left=(review_date - today).days)
        if threshold is not None:
            wanted[version_id], dates[version_id] = threshold, review_date
    claimed = set(
        ReviewReminder.objects.filter(version_id__in=wanted).values_list("version_id", "days_before", "review_date")
    )
    stale = ReviewReminder.objects.filter(sent_at__isnull=True, claimed_at__lt=timezone.now() - STALE_CLAIM)
    for reminder in stale.select_related("version__agreement")[:100]:
        logger.warning("review reminder %s was claimed at %s and never marked sent: check whether it went",
                       reminder, reminder.claimed_at.isoformat())
    return [(version_id, threshold) for version_id, threshold in wanted.items()
            if (version_id, threshold, dates[version_id]) not in claimed]


@dataclass
class Officer:
    username: str
    email: str
    name: str
    agencies: list[str] = field(default_factory=list)


def review_officers(*, version: AgreementVersion) -> list[Officer]:
    """The active governance officers, with an email address and email of notices on, of every party to `version`.
    One query."""
    through = get_user_model().groups.through
    rows = (
        through.objects.filter(
            group__agency_role__role=Role.GOVERNANCE_OFFICER,
            group__agency_role__agency__parties__version=version,
            user__is_active=True,
        )
        .exclude(user__email="")
        .exclude(user__notification_preference__email=False)
        .order_by("user__username", "group__agency_role__agency__name")
        .values_list("user__username", "user__email", "user__first_name", "user__last_name",
                     "group__agency_role__agency__name")
    )
    officers: dict[str, Officer] = {}
    for username, email, first, last, agency in rows:
        officer = officers.setdefault(username, Officer(username, email, f"{first} {last}".strip() or username))
        if agency not in officer.agencies:
            officer.agencies.append(agency)
    return list(officers.values())


def _subject(reference: str, title: str, days_left: int) -> str:
    if days_left > 1:
        when = f"due in {days_left} days"
    elif days_left == 1:
        when = "due tomorrow"
    elif days_left == 0:
        when = "due today"
    else:
        when = "overdue"
    return f"Review {when}: {reference} {title}"


def review_reminder_send(*, version_id: int, days_before: int, today: dt.date) -> bool:
    """Send one threshold's reminder for one version, once. Returns True if this call sent it."""
    version = (
        AgreementVersion.objects.select_related("agreement", "agreement__lead_agency").filter(pk=version_id).first()
    )
    if version is None:
        return False
    agreement = version.agreement
    days_left = (version.review_date - today).days
    if (agreement.status not in REMINDED_STATUSES or agreement.in_force_version_id != version.pk
            or threshold_for(days_left=days_left) != days_before):
        return False  # no longer due: ended, amended, or the day moved on past this threshold
    officers = review_officers(version=version)
    if not officers:
        logger.warning("no governance officer with an email address for %s: review reminder in the inbox only",
                       agreement.reference)
    try:
        with transaction.atomic():
            claim = ReviewReminder.objects.create(version=version, days_before=days_before,
                                                  review_date=version.review_date)
    except IntegrityError:
        return False  # claimed already: sent, or being sent by another worker

    link = settings.SITE_URL + reverse("agreements:print", args=[agreement.reference])
    messages = [
        mail.message(
            template="review_reminder", subject=_subject(agreement.reference, version.title, days_left),
            to=[officer.email],
            context={"officer": officer, "agreement": agreement, "version": version, "days_left": days_left,
                     "overdue_days": -days_left, "link": link, "grace_days": settings.REVIEW_GRACE_DAYS},
        )
        for officer in officers
    ]
    try:
        if messages:
            mail.send_all(messages)
    except BaseException:
        ReviewReminder.objects.filter(pk=claim.pk, sent_at__isnull=True).delete()  # not sent: let a retry claim it
        raise

    with transaction.atomic():
        usernames = [officer.username for officer in officers]
        ReviewReminder.objects.filter(pk=claim.pk).update(sent_at=timezone.now(), recipients=usernames)
        event = record(
            action=AuditAction.AGREEMENT_REVIEW_REMINDED, object_type="agreement", object_ref=agreement.reference,
            agency=agreement.lead_agency, agencies=agreement_agency_codes(agreement),
            detail={"reference": agreement.reference, "version": version.number, "days_before": days_before,
                    "review_date": version.review_date, "recipients": usernames},
        )
        # The inbox gets it too; the email above is this notice's email.
        notices.review_due(agreement=agreement, version=version, event=event,
                           subject=_subject(agreement.reference, version.title, days_left), days_left=days_left)
    return bool(officers)
