"""Sign-in auditing from Django's auth signals. Connected in AuditConfig.ready()."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from common import context
from common.types import User

from .choices import AuditAction
from .services import _actor_agency_codes, record


def _client(request: HttpRequest | None) -> dict:
    if request is None:
        return {}
    # A sign-in method other than the password form (single sign-on) says how it went in `sign_in_detail`.
    return {"user_agent": request.META.get("HTTP_USER_AGENT", "")[:200], **getattr(request, "sign_in_detail", {})}


@receiver(user_logged_in, dispatch_uid="audit.auth.login")
def _logged_in(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    record(action=AuditAction.AUTH_LOGIN, object_type="user", object_ref=user.get_username(), actor=user,
           detail={"username": user.get_username(), **_client(request)})


@receiver(user_login_failed, dispatch_uid="audit.auth.login_failed")
def _login_failed(sender: object, credentials: dict[str, Any], request: HttpRequest | None = None,
                  **kwargs: Any) -> None:
    # Only the attempted username is kept; Django has already masked the password, and we drop it entirely.
    field = get_user_model().USERNAME_FIELD
    attempted = str(credentials.get(field) or credentials.get("username")
                    or getattr(request, "sign_in_detail", {}).get("username") or "")[:150]
    # A sign-in refused because of too many failures (django-axes marks the request) is recorded as such.
    locked_out = {"locked_out": True} if getattr(request, "axes_locked_out", False) else {}
    # The account's own agencies, so that their auditors see attempts on it (none for an unknown username).
    accounts = get_user_model()._default_manager
    account = accounts.filter(**{field: attempted}).first() if attempted else None
    if account is None and "@" in attempted:  # single sign-on names the email its provider gave
        matches = list(accounts.filter(email__iexact=attempted)[:2])
        account = matches[0] if len(matches) == 1 else None
    agencies = sorted(_actor_agency_codes(account)) if account is not None else []
    with context.bind(actor=None, system_actor="anonymous"):
        record(action=AuditAction.AUTH_LOGIN_FAILED, object_type="user", object_ref=attempted, agencies=agencies,
               detail={"username": attempted, **_client(request), **locked_out})


@receiver(user_logged_out, dispatch_uid="audit.auth.logout")
def _logged_out(sender: object, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is None:
        return
    record(action=AuditAction.AUTH_LOGOUT, object_type="user", object_ref=user.get_username(), actor=user,
           detail={"username": user.get_username()})
