from django.db import models


class RevokeReason(models.TextChoices):
    """Why a token ended, as its `token.revoked` event records it."""

    REVOKED = "revoked", "Revoked by hand"
    PASSWORD_CHANGED = "password_changed", "Its creator's password changed"  # noqa: S105 - a reason, not a secret
    USER_DEACTIVATED = "user_deactivated", "Its creator's account was switched off"
    USER_DELETED = "user_deleted", "Its creator's account was deleted"
