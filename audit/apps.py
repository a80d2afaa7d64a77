from django.apps import AppConfig


class AuditConfig(AppConfig):
    verbose_name = "Audit log"
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401 - registers the system check and the sign-in receivers
