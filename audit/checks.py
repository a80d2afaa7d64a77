"""System checks: refuse to run a production without a valid audit signing key."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.checks import CheckMessage
from django.core.exceptions import ImproperlyConfigured

from . import keys


@checks.register("audit")
def signing_key_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if settings.AUDIT_SIGNING_KEY:
        try:
            keys.parse_private_key(settings.AUDIT_SIGNING_KEY)
        except (ImproperlyConfigured, ValueError) as exc:
            return [checks.Error(str(exc), id="audit.E002")]
        return []
    if not getattr(settings, "AUDIT_SIGNING_KEY_GENERATE", settings.DEBUG):
        return [checks.Error(keys.MISSING_KEY, id="audit.E001")]
    return []


@checks.register("audit")
def witness_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The witness is part of the contract: without it a database owner can rewrite the log and its checkpoints."""
    if not settings.AUDIT_WITNESS_DIR:
        return [checks.Error(
            "AUDIT_WITNESS_DIR is not set: every signed audit checkpoint must also be appended to a directory "
            "outside the database (its own volume; write-once storage in production). See docs/audit.md.",
            id="audit.E003")]
    return []


@checks.register("audit")
def unsigned_tail_check(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The stated bound on the unsigned tail must follow from the sealing settings."""
    beat = 0 if settings.AUDIT_SEAL_ON_COMMIT else settings.AUDIT_SEAL_INTERVAL_SECONDS
    worst = settings.AUDIT_CHECKPOINT_SECONDS + beat
    if worst >= settings.AUDIT_UNSIGNED_TAIL_SECONDS:
        return [checks.Error(
            f"An event could stay unsigned for {worst} s (AUDIT_CHECKPOINT_SECONDS"
            f"{' + AUDIT_SEAL_INTERVAL_SECONDS' if beat else ''}), not under AUDIT_UNSIGNED_TAIL_SECONDS "
            f"({settings.AUDIT_UNSIGNED_TAIL_SECONDS} s). Lower them or raise the bound.", id="audit.E004")]
    return []
