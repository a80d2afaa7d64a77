"""Emails of notices, one task per notice, acknowledged late and retried (common.tasks.RETRYING_MAIL)."""

from celery import shared_task

from common.tasks import RETRYING_MAIL

from .services import notification_email_send


@shared_task(name="notifications.send_email", **RETRYING_MAIL)
def send_email(notification_id: int) -> bool:
    """Email one notice to its person, once however often the task is delivered."""
    return notification_email_send(notification_id=notification_id)
