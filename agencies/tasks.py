"""Background work for agencies: invitation emails (sent after the invitation commits, retried when mail fails)."""

from celery import shared_task

from common import context
from common.tasks import RETRYING_MAIL


@shared_task(name="agencies.send_invitation", **RETRYING_MAIL)
def send_invitation(invitation_id: int) -> bool:
    """Email one open invitation its one-time link."""
    from .services import invitation_send

    with context.system("task:agencies.send_invitation"):
        return invitation_send(invitation_id=invitation_id)
