"""API tokens end here when a person leaves or changes their password (one function to extend for new token kinds)."""

from __future__ import annotations

from typing import Any


def user_tokens_revoke(*, user: Any) -> int:
    """Revoke every API token the user holds; returns how many. Call it inside the caller's transaction."""
    from rest_framework.authtoken.models import Token

    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
