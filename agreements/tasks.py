"""Scheduled work for agreements."""

from celery import shared_task
from django.utils import timezone

from .services import agreement_expire_due


@shared_task(name="agreements.expire")
def expire() -> int:
    """Expire agreements past their end date (the daily schedule; `manage.py expire_agreements` does the same)."""
    return len(agreement_expire_due(today=timezone.localdate()))
