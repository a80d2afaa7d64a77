from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models

if TYPE_CHECKING:
    from .sessions import SessionStore


class Profile(models.Model):
    """What the registry shows about a person: their full name and job title (signatures and member lists use them).

    Read them through `accounts.selectors.display_name(user)` and `job_title(user)`, which work without a profile.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    full_name = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    last_agencies = models.JSONField(
        default=list, blank=True,
        help_text="Codes of the agencies the person belonged to when their account was last switched off: only "
        "those agencies' administrators (or a superuser) may switch it back on.",
    )

    def __str__(self) -> str:
        return self.full_name or self.user.get_username()


class UserSession(AbstractBaseSession):
    """A database session that knows whose it is (SESSION_ENGINE = accounts.sessions), so switching an account
    off ends every one of its sessions with one indexed delete, and switching it back on revives none."""

    account_id = models.BigIntegerField(null=True, db_index=True)

    class Meta:
        verbose_name = "session"

    @classmethod
    def get_session_store_class(cls) -> "type[SessionStore]":
        from .sessions import SessionStore

        return SessionStore
