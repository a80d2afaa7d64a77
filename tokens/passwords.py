"""Revoke a person's tokens when their password changes, through Django's password-validator hook.

`User.set_password()` followed by `save()` calls `password_changed()` on every validator in
AUTH_PASSWORD_VALIDATORS: the change-password page, a reset, the admin and `changepassword` all pass here.
"""

from __future__ import annotations

from common.types import User


class RevokeTokensOnPasswordChange:
    """Not a rule about the password: it only listens for a change, and says on password pages what follows."""

    def validate(self, password: str, user: User | None = None) -> None:
        return None

    def password_changed(self, password: str, user: User | None = None) -> None:
        if user is None or user.pk is None:
            return
        from . import services
        from .choices import RevokeReason
        from .models import ApiToken

        if ApiToken.objects.filter(user=user).exists():
            services.tokens_revoke_for_user(user=user, reason=RevokeReason.PASSWORD_CHANGED)

    def get_help_text(self) -> str:
        return "Changing your password ends any API tokens you created."
