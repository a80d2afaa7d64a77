from typing import Any

from django.apps import AppConfig


class AuditConfig(AppConfig):
    verbose_name = "Audit log"
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks, signals  # noqa: F401 - registers the system check and the sign-in receivers

        post_migrate.connect(_reinstall_triggers, sender=self)


def _reinstall_triggers(sender: object, using: str = "default", **kwargs: Any) -> None:
    """After every migrate, put back the append-only triggers on every audit table and the agencies index trigger.

    SQLite changes a table by rebuilding it, which silently drops its triggers: a migration that adds a column to an
    audit table would otherwise leave it open to UPDATE and DELETE. Installing is idempotent."""
    from django.db import connections

    from . import triggers

    triggers.install(connections[using])
