"""The session engine (settings.SESSION_ENGINE): Django's database sessions, each row marked with its user.

Django's own check refuses an inactive user's session but keeps the row, so switching the account back on would
bring every old session back. Marking rows with the user lets `user_sessions_end` delete them all at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore

if TYPE_CHECKING:
    from .models import UserSession


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        from .models import UserSession

        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        instance = cast("UserSession", super().create_model_instance(data))
        try:
            instance.account_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            instance.account_id = None
        return instance
