"""Notices to people: one inbox item each and, for those who take email, one email each, sent after commit.

`notify` is called by the services that record an event worth telling people about (agreements/notices.py), inside
their transaction and after their audit record: the notices commit with the change or not at all. Each email is a
task queued on commit (`notifications.send_email`); `notification_email_send` locks the notice, sends, and marks it
sent with its audit event (`notification.emailed`) in one transaction, so a task delivered twice (a worker
restarted, a retry) sends once. The one window left is a worker dying after the mail server took the message and
before the commit: that notice may be sent again, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from agencies.choices import Role
from audit.choices import AuditAction
from audit.models import AuditEvent
from audit.services import record
from common import mail
from common.types import User

from .choices import NotificationKind
from .models import Notification, NotificationPreference

logger = logging.getLogger(__name__)


def officers_to_notify(*, agency_ids: Iterable[int], exclude_user_id: int | None = None) -> list[tuple[int, str, bool]]:
    """(user id, email, wants email) for every active governance officer of these agencies, once each. One query."""
    officers = get_user_model().objects.filter(
        is_active=True, groups__agency_role__role=Role.GOVERNANCE_OFFICER,
        groups__agency_role__agency_id__in=list(agency_ids),
    )
    if exclude_user_id is not None:
        officers = officers.exclude(pk=exclude_user_id)
    users = (
        officers.order_by("pk")
        .values_list("pk", "email", "notification_preference__email")
        .distinct()
    )
    return [(pk, email or "", preference is not False) for pk, email, preference in users]


def notify(
    *,
    kind: NotificationKind | str,
    event: AuditEvent,
    agency_ids: Iterable[int],
    subject: str,
    body: str,
    link: str = "",
    exclude_user: User | None = None,
    email: bool = True,
) -> list[Notification]:
    """Tell every governance officer of `agency_ids` about `event`, once each: an inbox item, and an email queued
    after commit for those with an address who have not turned email off. `email=False` for notices whose email
    goes another way (the review reminder sends its own). The person who acted (`exclude_user`) is not told."""
    kind = NotificationKind(kind)
    exclude_id = getattr(exclude_user, "pk", None)
    people = officers_to_notify(agency_ids=agency_ids, exclude_user_id=exclude_id)
    subject = " ".join(subject.split())[:300]
    rows = Notification.objects.bulk_create([
        Notification(user_id=user_id, kind=kind, event=event, object_type=event.object_type,
                     object_ref=event.object_ref, agencies=list(event.agencies or []), subject=subject, body=body,
                     link=link[:500], email_wanted=email and bool(address) and wants)
        for user_id, address, wants in people
    ])
    for row in rows:
        if row.email_wanted:
            transaction.on_commit(partial(_queue_email, row.pk))
    return rows


def _queue_email(notification_id: int) -> None:
    from .tasks import send_email

    send_email.delay(notification_id)


def notification_email_send(*, notification_id: int) -> bool:
    """Email one notice, once. Returns True if this call sent it.

    The notice is locked for the send, and marked sent (with `notification.emailed`) in the same transaction: a
    second delivery of the task waits for the first and then finds it sent. A mail server error rolls back, so the
    task's retry sends it later."""
    with transaction.atomic():
        notice = (Notification.objects.select_for_update(of=("self",)).select_related("user")
                  .filter(pk=notification_id).first())
        if notice is None or notice.emailed_at is not None or not notice.email_wanted:
            return False
        user = notice.user
        still_wanted = NotificationPreference.objects.filter(user=user, email=False).first() is None
        if not (user.is_active and user.email and still_wanted):
            return False  # switched off, or email turned off, since the notice was made: the inbox still has it
        message = mail.message(template="notification", subject=notice.subject, to=[user.email],
                               context={"notice": notice, "user": user})
        mail.send_all([message])
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])
        record(action=AuditAction.NOTIFICATION_EMAILED, object_type=notice.object_type, object_ref=notice.object_ref,
               agencies=notice.agencies, actor=None,
               detail={"notification": notice.pk, "kind": notice.kind, "to": user.get_username(),
                       "about_event": notice.event_id})
    return True


def notification_get(*, user: User, notification_id: int) -> Notification:
    """The user's own notice; anyone else's is 404, exactly as a missing one."""
    notice = Notification.objects.filter(pk=notification_id, user_id=user.pk).first()
    if notice is None:
        raise Http404("No such notification.")
    return notice


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notices read (again is harmless)."""
    notice = notification_get(user=user, notification_id=notification_id)
    if notice.read_at is None:
        notice.read_at = timezone.now()
        Notification.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=notice.read_at)
    return notice


@transaction.atomic
def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notice of the user's read. Returns how many."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def notification_preference_set(*, user: User, email: bool) -> NotificationPreference:
    """Turn email of notices on or off for oneself (the inbox stays on), recorded as `notification.settings_changed`."""
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    if preference.email != email:
        preference.email = email
        preference.save(update_fields=["email", "updated_at"])
        record(action=AuditAction.NOTIFICATION_SETTINGS_CHANGED, object_type="user",
               object_ref=user.get_username(), actor=user, detail={"email": email})
    return preference
