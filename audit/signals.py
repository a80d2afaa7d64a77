"""Sign-in auditing from Django's auth signals. Connected in AuditConfig.ready()."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from common import context

from .choices import AuditAction
from .services import record


def _client(request) -> dict:
    if request is None:
        return {}
    # A sign-in method other than the password form (single sign-on) says how it went in `sign_in_detail`.
    return {"user_agent": request.META.get("HTTP_USER_AGENT", "")[:200], **getattr(request, "sign_in_detail", {})}


@receiver(user_logged_in, dispatch_uid="audit.auth.login")
def _logged_in(sender, request, user, **kwargs):
    record(action=AuditAction.AUTH_LOGIN, object_type="user", object_ref=user.get_username(), actor=user,
           detail={"username": user.get_username(), **_client(request)})


@receiver(user_login_failed, dispatch_uid="audit.auth.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # Only the attempted username is kept; Django has already masked the password, and we drop it entirely.
    field = get_user_model().USERNAME_FIELD
    attempted = str(credentials.get(field) or credentials.get("username")
                    or getattr(request, "sign_in_detail", {}).get("username") or "")[:150]
    # A sign-in refused because of too many failures (django-axes marks the request) is recorded as such.
    locked_out = {"locked_out": True} if getattr(request, "axes_locked_out", False) else {}
    with context.bind(actor=None, system_actor="anonymous"):
        record(action=AuditAction.AUTH_LOGIN_FAILED, object_type="user", object_ref=attempted,
               detail={"username": attempted, **_client(request), **locked_out})


@receiver(user_logged_out, dispatch_uid="audit.auth.logout")
def _logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    record(action=AuditAction.AUTH_LOGOUT, object_type="user", object_ref=user.get_username(), actor=user,
           detail={"username": user.get_username()})
