"""Changes to people, passwords, lockouts and scheduled tasks are audited whatever made them.

The Django admin, a shell, `createsuperuser`, `changepassword`, `axes_reset` and django-celery-beat all change
these rows without calling a service. Each receiver records one event from the row's own values (the audit
context names the actor: the admin's user in a request, the system otherwise); inside a transaction the event
commits with the change. A service that records its own, richer event marks its save with `recorded_here()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_init, post_save, pre_delete
from django.utils.module_loading import import_string
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from audit.choices import AuditAction
from audit.services import record
from common.types import User

from .tokens import user_tokens_revoke

_recorded_here: ContextVar[bool] = ContextVar("accounts_recorded_here", default=False)
_password_event: ContextVar[tuple[str, dict]] = ContextVar(
    "accounts_password_event", default=(AuditAction.AUTH_PASSWORD_CHANGED, {}))

USER_FIELDS = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser", "password")
SCHEDULE_MODELS = (PeriodicTask, IntervalSchedule, CrontabSchedule, ClockedSchedule, SolarSchedule)
# What beat itself writes after every run; a change to these alone is not a change to the schedule.
SCHEDULE_BOOKKEEPING = {"last_run_at", "total_run_count", "no_changes", "date_changed"}


@contextlib.contextmanager
def recorded_here() -> Iterator[None]:
    """The calling service records this change itself; the receivers below stay silent."""
    token = _recorded_here.set(True)
    try:
        yield
    finally:
        _recorded_here.reset(token)


@contextlib.contextmanager
def password_event(action: AuditAction, **detail: Any) -> Iterator[None]:
    """Name the event a password change in this block records (a reset through the emailed link)."""
    token = _password_event.set((action, detail))
    try:
        yield
    finally:
        _password_event.reset(token)


def _snapshot(instance: Any, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    fields = [f for f in instance._meta.concrete_fields if names is None or f.name in names]
    return {f.attname: instance.__dict__[f.attname] for f in fields if f.attname in instance.__dict__}


def _remember(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance._audit_initial = _snapshot(instance, USER_FIELDS if sender is get_user_model() else None)


def _changed(instance: Any, now: dict[str, Any]) -> dict[str, list[Any]]:
    before = getattr(instance, "_audit_initial", {})
    return {name: [before.get(name), value] for name, value in now.items() if before.get(name) != value}


# People.


def subject_agencies(user: User) -> list[str]:
    """The codes of the agencies `user` belongs to, so their auditors see what happened to them (the function
    settings.AUDIT_ACTOR_AGENCIES names: accounts sits below agencies and does not import it)."""
    if user.pk is None:
        return []
    if hasattr(user, "_agency_roles_cache"):
        del user._agency_roles_cache  # what the user holds now, not what a request cached earlier
    return sorted(import_string(settings.AUDIT_ACTOR_AGENCIES)(user))


def _user_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    now = _snapshot(instance, USER_FIELDS)
    changes = _changed(instance, now)
    instance._audit_initial = now
    if raw or _recorded_here.get():
        return
    if not created and not changes:
        return  # a save that changed nothing tracked (a sign-in's last_login): nothing to record, no query
    username = instance.get_username()
    ref = {"object_type": "user", "object_ref": username, "agencies": [] if created else subject_agencies(instance)}
    if created:
        record(action=AuditAction.USER_CREATED, **ref, detail={
            "username": username, "email": instance.email, "is_superuser": instance.is_superuser,
            "is_staff": instance.is_staff, "is_active": instance.is_active})
        return
    password = changes.pop("password", None)
    active = changes.pop("is_active", None)
    if password is not None and password[0]:  # from "" it is the first password of a user just made, not a change
        tokens = user_tokens_revoke(user=instance, reason="password_changed")
        action, extra = _password_event.get()
        record(action=action, **ref, detail={"username": username, "tokens_revoked": tokens, **extra})
    if active is not None:
        from .selectors import agencies_concerned
        from .services import account_switched_off, user_sessions_end

        if instance.is_active:
            concerned = agencies_concerned(user=instance)
            sessions = user_sessions_end(user=instance)
            from .models import Profile

            Profile.objects.filter(user=instance).update(last_agencies=[])
            record(action=AuditAction.USER_REACTIVATED, **{**ref, "agencies": concerned},
                   detail={"username": username, **({"sessions_ended": sessions} if sessions else {})})
        else:
            tokens = user_tokens_revoke(user=instance, agencies=ref["agencies"])
            sessions = account_switched_off(user=instance, agencies=ref["agencies"])
            record(action=AuditAction.USER_DEACTIVATED, **ref,
                   detail={"username": username, "tokens_revoked": tokens, "sessions_ended": sessions})
    if changes:
        record(action=AuditAction.USER_UPDATED, **ref, detail={"username": username, "changes": changes})


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    username = instance.get_username()
    record(action=AuditAction.USER_DELETED, object_type="user", object_ref=username,
           agencies=subject_agencies(instance), detail={"username": username, "email": instance.email})


# Sign-in lockouts (django-axes): clearing a locked-out attempt lets that username and address sign in again.


def username_agencies(username: str) -> list[str]:
    """The agencies of the account with this username (none if there is no such account), so that events about
    sign-ins to it reach its agencies' auditors even when nobody is signed in."""
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first() if username else None
    return subject_agencies(user) if user is not None else []


def _attempt_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return  # a few failures cleared (a later success, or expiry): no lockout ended
    record(action=AuditAction.AUTH_LOCKOUT_RESET, object_type="user", object_ref=(instance.username or "")[:128],
           agencies=username_agencies(instance.username or ""),
           detail={"username": instance.username, "ip_address": instance.ip_address,
                   "failures": instance.failures_since_start})


# Scheduled work (django-celery-beat): what runs, when, and with which arguments.


def _schedule_saved(sender: Any, instance: Any, created: bool, raw: bool = False,
                    **kwargs: Any) -> None:
    now = _snapshot(instance)
    changes = {name: values for name, values in _changed(instance, now).items()
               if name not in SCHEDULE_BOOKKEEPING and name != "id"}
    instance._audit_initial = now
    if raw or (not created and not changes):
        return
    detail = {"model": sender._meta.model_name, "change": "created" if created else "updated", "name": str(instance)}
    if created:
        detail["values"] = {k: v for k, v in now.items() if k not in SCHEDULE_BOOKKEEPING}
    else:
        detail["changes"] = changes
    record(action=AuditAction.SCHEDULE_CHANGED, object_type=sender._meta.model_name, object_ref=str(instance)[:128],
           detail=detail)


def _schedule_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    record(action=AuditAction.SCHEDULE_CHANGED, object_type=sender._meta.model_name, object_ref=str(instance)[:128],
           detail={"model": sender._meta.model_name, "change": "deleted", "name": str(instance)})


def connect() -> None:
    user_model = get_user_model()
    post_init.connect(_remember, sender=user_model, dispatch_uid="accounts.user.remember")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="accounts.user.saved")
    pre_delete.connect(_user_deleted, sender=user_model, dispatch_uid="accounts.user.deleted")
    pre_delete.connect(_attempt_deleted, sender=AccessAttempt, dispatch_uid="accounts.axes.reset")
    for model in SCHEDULE_MODELS:
        uid = f"accounts.schedule.{model._meta.model_name}"
        post_init.connect(_remember, sender=model, dispatch_uid=f"{uid}.remember")
        post_save.connect(_schedule_saved, sender=model, dispatch_uid=f"{uid}.saved")
        post_delete.connect(_schedule_deleted, sender=model, dispatch_uid=f"{uid}.deleted")


connect()
