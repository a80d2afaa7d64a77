"""API tokens end here when a person leaves: one function, which the `tokens` app answers."""

from __future__ import annotations

from django.apps import apps
from django.utils.module_loading import import_string

from common.types import User


def user_tokens_revoke(
    *, user: User, reason: str = "user_deactivated", agencies: list[str] | tuple[str, ...] = ()
) -> int:
    """Revoke every API token the user holds, each recorded as `token.revoked` (concerning the token's agency, the
    user's agencies and `agencies`); returns how many. Call it inside the caller's transaction. The `tokens` app
    (a floor above) owns tokens: it is reached through the app registry, as `audit` reaches agencies, so this
    floor imports nothing above it at load time."""
    if not apps.is_installed("tokens"):
        return 0
    revoke = import_string("tokens.services.tokens_revoke_for_user")
    return revoke(user=user, reason=reason, agencies=agencies)  # "password_changed" or "user_deactivated"
