"""Writes for API tokens: create (the key is returned once), revoke, and revoke everything a person holds.

A token acts as the person who created it, so it must not outlive that person's password or account: a password
change and a deactivation both end it (tokens.receivers, and the leaver flow calls `tokens_revoke_for_user`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.signals import subject_agencies
from agencies.models import Agency
from audit.choices import AuditAction
from audit.services import record
from common.types import User

from . import selectors
from .choices import RevokeReason
from .models import ApiToken

NAME_MAX = ApiToken._meta.get_field("name").max_length


def _detail(token: ApiToken) -> dict[str, Any]:
    return {"name": token.name, "user": token.user.get_username(), "expiry": token.expiry,
            "agency": token.agency.code if token.agency is not None else ""}


@transaction.atomic
def token_create(*, actor: User | None, user: User, name: str, agency: Agency | None = None,
                 days: int | None = None) -> tuple[ApiToken, str]:
    """Make a token for `user`, named `name`, expiring in `days` (API_TOKEN_DAYS by default). Returns the row and
    the key; the key is never stored and cannot be shown again. `actor=None` is trusted system code (a command)."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Enter a name for the token, such as the system that will use it"]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"The name must be {NAME_MAX} characters or fewer"]
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        errors["days"] = [f"A token must expire within 1 to {settings.API_TOKEN_MAX_DAYS} days"]
    if errors:
        raise ValidationError(errors)
    if actor is not None and agency is not None and not selectors.token_can_manage(user=actor, agency=agency):
        raise PermissionDenied(f"Only administrators of {agency.name} can create its tokens.")
    if not user.is_active:
        raise ValidationError({"user": ["This account has been switched off, so it cannot hold a token"]})
    token, key = ApiToken.objects.create(user=user, expiry=timedelta(days=days), name=name, agency=agency)
    record(action=AuditAction.TOKEN_CREATED, object_type="token", object_ref=str(token.pk), agency=agency,
           agencies=subject_agencies(user), actor=actor, detail=_detail(token))
    return token, key


@transaction.atomic
def token_revoke(*, actor: User | None, token: ApiToken, reason: RevokeReason = RevokeReason.REVOKED) -> None:
    """End one token at once. Agency administrators revoke their agency's tokens; anyone may revoke their own."""
    agency = token.agency
    if actor is not None and token.user_id != actor.pk and not actor.is_superuser and not (
            agency is not None and selectors.token_can_manage(user=actor, agency=agency)):
        raise PermissionDenied("Only the token's creator or an administrator of its agency can revoke it.")
    detail = {**_detail(token), "reason": reason}
    ref = str(token.pk)
    deleted, _ = ApiToken.objects.filter(pk=token.pk).delete()
    if deleted:
        record(action=AuditAction.TOKEN_REVOKED, object_type="token", object_ref=ref, agency=agency,
               agencies=subject_agencies(token.user), actor=actor, detail=detail)


@transaction.atomic
def tokens_revoke_for_user(*, user: User, reason: RevokeReason = RevokeReason.USER_DEACTIVATED,
                           agencies: list[str] | tuple[str, ...] = ()) -> int:
    """End every token `user` holds (a password change, a deactivation, a leaver). One event per token, concerning
    its agency, the user's agencies and `agencies` (those a leaver has just left)."""
    tokens = list(ApiToken.objects.select_for_update(of=("self",)).filter(user=user).select_related("agency", "user"))
    if not tokens:
        return 0
    ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).delete()
    concerned = sorted({*subject_agencies(user), *agencies})
    for token in tokens:
        record(action=AuditAction.TOKEN_REVOKED, object_type="token", object_ref=str(token.pk), agency=token.agency,
               agencies=concerned, detail={**_detail(token), "reason": reason})
    return len(tokens)
