"""Reads of a person's own notices. Each costs one query whatever the size of the inbox."""

from __future__ import annotations

from django.db.models import QuerySet

from common.types import User

from .models import Notification, NotificationPreference


def notification_list(*, user: User, unread: bool = False) -> QuerySet[Notification]:
    """The user's notices, newest first (the `notification_inbox` index)."""
    qs = Notification.objects.filter(user_id=user.pk)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def wants_email(user: User) -> bool:
    return not NotificationPreference.objects.filter(user_id=user.pk, email=False).exists()
