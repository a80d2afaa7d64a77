from django.apps import AppConfig


class AuditConfig(AppConfig):
    verbose_name = "Audit log"
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"
