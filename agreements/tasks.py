"""Scheduled work for agreements: the daily expiry sweep and review reminders (README "Scheduled work").

Tasks take ids, are safe to run twice, are acknowledged late and retry with backoff on database, broker and
(for mail) SMTP errors; see common.tasks.RETRYING.
"""

from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from common.tasks import RETRYING, RETRYING_MAIL

from .reminders import review_reminder_send, review_reminders_due
from .services import agreement_expire_due


@shared_task(name="agreements.expire", **RETRYING)
def expire() -> int:
    """Expire agreements past their end date (the daily schedule; `manage.py expire_agreements` does the same).

    Each expiry is recorded as `agreement.expired` by the system actor `task:agreements.expire`."""
    return len(agreement_expire_due(today=timezone.localdate()))


@shared_task(name="agreements.review_reminders", **RETRYING)
def review_reminders() -> int:
    """Daily: queue one send for each review reminder due today. Returns how many were queued."""
    due = review_reminders_due(today=timezone.localdate())
    for version_id, days_before in due:
        transaction.on_commit(partial(send_review_reminder.delay, version_id, days_before))
    return len(due)


@shared_task(name="agreements.send_review_reminder", **RETRYING_MAIL)
def send_review_reminder(version_id: int, days_before: int) -> bool:
    """Email one version's reminder at one threshold to every party's governance officers, once."""
    return review_reminder_send(version_id=version_id, days_before=days_before, today=timezone.localdate())
