"""Password reset emails, sent by a worker after the request commits (a slow mail server never holds a page)."""

from celery import shared_task

from common import context
from common.tasks import RETRYING_MAIL


@shared_task(name="accounts.send_password_reset", **RETRYING_MAIL)
def send_password_reset(user_id: int) -> bool:
    """Email one user a link to choose a new password. The link is made here, so it never passes the broker."""
    from .services import password_reset_send

    with context.system("task:accounts.send_password_reset"):
        return password_reset_send(user_id=user_id)


@shared_task(name="accounts.send_password_resets")
def send_password_resets(email: str) -> int:
    """Queue a reset email for each account with this address. The request queues this one task whether or not any
    account matches, so a request for a known address looks and takes the same as one for an unknown address."""
    from django.contrib.auth.forms import PasswordResetForm

    users = list(PasswordResetForm().get_users(email))
    for user in users:
        send_password_reset.delay(user.pk)
    return len(users)
