"""API tokens end here when a person leaves or changes their password (one function to extend for new token kinds)."""

from __future__ import annotations

from typing import Any

from django.apps import apps


def user_tokens_revoke(*, user: Any) -> int:
    """Revoke every API token the user holds; returns how many. Call it inside the caller's transaction.

    Today's tokens are DRF's authtoken; a token app that replaces it revokes its own tokens (extend this function,
    or listen for the same changes), and this part then does nothing."""
    if not apps.is_installed("rest_framework.authtoken"):
        return 0
    from rest_framework.authtoken.models import Token

    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
