"""The unread count in every page's header: one COUNT on the partial `notification_unread` index, once a request."""

from __future__ import annotations

from django.http import HttpRequest

from .selectors import unread_count


def unread_notifications(request: HttpRequest) -> dict[str, int | None]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": None}
    cached = getattr(request, "_unread_notifications", None)
    if cached is None:
        cached = unread_count(user)
        request.__dict__["_unread_notifications"] = cached  # read back by the getattr above
    return {"unread_notifications": cached}
