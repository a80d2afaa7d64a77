"""Writes for people's accounts: creating, describing and deactivating users, and ending what they hold.

Each service records its own event in its transaction. The receivers in accounts/signals.py record the same
kinds of change made by any other path (the Django admin, a shell, a management command); a service marks its
own saves with `signals.recorded_here()` so that one change is never recorded twice.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit.choices import AuditAction
from audit.services import record
from common.types import User

from .models import Profile, UserSession
from .selectors import REGISTRY_ADMIN_GROUP, REGISTRY_ADMIN_PERMISSIONS, agencies_concerned
from .signals import recorded_here, subject_agencies
from .tokens import user_tokens_revoke

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 200


def _profile_fields(full_name: str, job_title: str) -> dict[str, str]:
    full_name, job_title = " ".join(full_name.split()), " ".join(job_title.split())
    errors = {}
    if len(full_name) > MAX_NAME_LENGTH:
        errors["name"] = f"Keep the name to {MAX_NAME_LENGTH} characters."
    if len(job_title) > MAX_NAME_LENGTH:
        errors["job_title"] = f"Keep the job title to {MAX_NAME_LENGTH} characters."
    if errors:
        raise ValidationError(errors)
    return {"full_name": full_name, "job_title": job_title}


@transaction.atomic
def user_create(
    *, username: str, email: str = "", full_name: str = "", job_title: str = "", password: str | None = None,
    how: str = "", agencies: list[str] | tuple[str, ...] = (),
) -> Any:
    """A new active user with a profile. With `password` (checked by Django's validators) they can sign in;
    without one their password is unusable until they set one. Recorded as `user.created`, concerning
    `agencies` (the codes of the agencies they are joining, so those agencies' auditors see it)."""
    user_model = get_user_model()
    if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
        raise ValidationError({"username": "That username is already taken."})
    profile = _profile_fields(full_name, job_title)
    user = user_model(**{user_model.USERNAME_FIELD: username}, email=email)
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as problems:
            raise ValidationError({"password": problems.messages}) from problems
        user.set_password(password)
    with recorded_here():
        user.save()
    Profile.objects.create(user=user, **profile)
    record(
        action=AuditAction.USER_CREATED,
        object_type="user",
        object_ref=user.get_username(),
        agencies=agencies,
        detail={"username": user.get_username(), "email": email, **profile, **({"how": how} if how else {})},
    )
    return user


@transaction.atomic
def user_profile_update(*, user: User, full_name: str | None = None, job_title: str | None = None) -> bool:
    """Change a person's name or job title. Records `user.updated` with old and new values; False if unchanged."""
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    wanted = _profile_fields(profile.full_name if full_name is None else full_name,
                             profile.job_title if job_title is None else job_title)
    changes = {name: [getattr(profile, name), value] for name, value in wanted.items()
               if getattr(profile, name) != value}
    if not changes:
        return False
    for name, (_, value) in changes.items():
        setattr(profile, name, value)
    profile.save(update_fields=list(changes))
    record(action=AuditAction.USER_UPDATED, object_type="user", object_ref=user.get_username(),
           agencies=subject_agencies(user), detail={"username": user.get_username(), "changes": changes})
    return True


def user_sessions_end(*, user: User) -> int:
    """End every session the user has, in every browser (one indexed delete). Returns how many ended."""
    deleted, _ = UserSession.objects.filter(account_id=user.pk).delete()
    return deleted


@transaction.atomic
def user_deactivate(*, user: User, reason: str, agencies: list[str] | tuple[str, ...] = ()) -> bool:
    """Switch a user off: they cannot sign in, every session they have ends and their API tokens are revoked.
    Remembers the agencies concerned (their administrators may switch the account back on). Recorded as
    `user.deactivated`, concerning those agencies.

    Returns False if they were already inactive."""
    user_model = get_user_model()
    locked = user_model.objects.select_for_update().get(pk=user.pk)
    if not locked.is_active:
        return False
    concerned = sorted({*subject_agencies(locked), *agencies})
    tokens = user_tokens_revoke(user=locked, agencies=concerned)  # first: saving inactive would revoke them too
    locked.is_active = False
    with recorded_here():
        locked.save(update_fields=["is_active"])
    user.is_active = False
    sessions = account_switched_off(user=locked, agencies=concerned)
    record(action=AuditAction.USER_DEACTIVATED, object_type="user", object_ref=locked.get_username(),
           agencies=concerned, detail={"username": locked.get_username(), "reason": reason,
                                       "tokens_revoked": tokens, "sessions_ended": sessions})
    return True


def account_switched_off(*, user: User, agencies: list[str]) -> int:
    """What follows an account being switched off, whatever the path: its sessions end, and the agencies it
    belonged to are remembered. Returns how many sessions ended."""
    if agencies:
        Profile.objects.update_or_create(user=user, defaults={"last_agencies": sorted(agencies)})
    return user_sessions_end(user=user)


@transaction.atomic
def user_reactivate(*, user: User, reason: str, agencies: list[str] | tuple[str, ...] = ()) -> bool:
    """Switch a user back on. No old session comes back (they ended when it was switched off, and any left are
    ended now): the person signs in again. Recorded as `user.reactivated`, concerning every agency they belong or
    belonged to and `agencies`. Who may do this is the caller's rule (agencies.selectors.user_may_reactivate)."""
    user_model = get_user_model()
    locked = user_model.objects.select_for_update().get(pk=user.pk)
    if locked.is_active:
        return False
    concerned = agencies_concerned(user=locked, also=agencies)
    locked.is_active = True
    with recorded_here():
        locked.save(update_fields=["is_active"])
    user.is_active = True
    sessions = user_sessions_end(user=locked)
    Profile.objects.filter(user=locked).update(last_agencies=[])
    record(action=AuditAction.USER_REACTIVATED, object_type="user", object_ref=locked.get_username(),
           agencies=concerned, detail={"username": locked.get_username(), "reason": reason,
                                       **({"sessions_ended": sessions} if sessions else {})})
    return True


# The registry-admin role: adds and changes agencies without being a superuser. Only superusers give it.


def registry_admin_group() -> Any:
    """The role's group, made on first use with exactly its permissions."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=REGISTRY_ADMIN_GROUP)
    wanted = [perm.split(".", 1) for perm in REGISTRY_ADMIN_PERMISSIONS]
    permissions = [p for p in Permission.objects.filter(content_type__app_label__in={a for a, _ in wanted},
                                                        codename__in={c for _, c in wanted})
                   if [p.content_type.app_label, p.codename] in wanted]
    group.permissions.set(permissions)
    return group


def _registry_admin_change(*, actor: User | None, user: User, grant: bool) -> bool:
    if actor is not None and not (getattr(actor, "is_active", False) and actor.is_superuser):
        raise PermissionDenied("Only superusers can give or take away the registry administrator role.")
    group = registry_admin_group()
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    holds = group.user_set.filter(pk=user.pk).exists()
    if holds == grant:
        return False
    (group.user_set.add if grant else group.user_set.remove)(user)
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache", "_registry_admin_cache"):
        user.__dict__.pop(cache, None)
    record(action=AuditAction.PERMISSION_GRANTED if grant else AuditAction.PERMISSION_REVOKED, object_type="user",
           object_ref=user.get_username(), actor=actor, agencies=subject_agencies(user),
           detail={"username": user.get_username(), "role": "registry_admin", "group": group.name,
                   "permissions": list(REGISTRY_ADMIN_PERMISSIONS)})
    return True


@transaction.atomic
def registry_admin_grant(*, actor: User | None, user: User) -> bool:
    """Give `user` the registry-admin role (superusers only; `actor=None` is a management command). Recorded as
    `permission.granted`. False if they held it already."""
    return _registry_admin_change(actor=actor, user=user, grant=True)


@transaction.atomic
def registry_admin_revoke(*, actor: User | None, user: User) -> bool:
    """Take the registry-admin role away (superusers only). Recorded as `permission.revoked`."""
    return _registry_admin_change(actor=actor, user=user, grant=False)


# Password resets: Django's token (valid for PASSWORD_RESET_TIMEOUT, spent by the password change it allows).


def password_reset_request(*, email: str, client: str) -> int:
    """Someone asked to reset the password for `email`. Queue an email to each active account with that address
    and a usable password, unless the address or the client has asked too often. Returns how many were queued;
    the page says the same whatever the answer, so nobody learns which addresses have accounts.

    Recorded as `auth.password_reset` (stage `requested`) in every case, with whether an account matched."""
    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm

    from .tasks import send_password_resets
    from .throttle import spend

    within_limit = spend("password-reset-email", email, limit=settings.PASSWORD_RESET_LIMIT_PER_EMAIL, seconds=3600)
    users = list(PasswordResetForm().get_users(email)) if within_limit else []
    with transaction.atomic():
        record(action=AuditAction.AUTH_PASSWORD_RESET, object_type="user",
               object_ref=users[0].get_username() if len(users) == 1 else "",
               agencies=sorted({code for user in users for code in subject_agencies(user)}),
               detail={"stage": "requested", "email": email[:254], "accounts": len(users), "client": client,
                       **({} if within_limit else {"throttled": True})})
        if within_limit:
            transaction.on_commit(lambda: _queue_quietly(send_password_resets, email))
    return len(users)


def _queue_quietly(task: Any, *args: Any) -> None:
    """Queue a task whose failure must not show in the answer: a mail server or broker that is down would otherwise
    turn a request for a known address into an error page, telling the caller the address has an account."""
    try:
        task.delay(*args)
    except Exception:
        logger.exception("Could not queue %s", task.name)


def password_reset_send(*, user_id: int) -> bool:
    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from common import mail

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = settings.SITE_URL + reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
    from .selectors import display_name

    mail.send_all([mail.message(
        template="password_reset", subject="Reset your Sharing Registry password", to=[user.email],
        context={"name": display_name(user), "username": user.get_username(), "link": link,
                 "hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)},
    )])
    return True
