from django.apps import AppConfig


class TokensConfig(AppConfig):
    verbose_name = "API tokens"
    name = "tokens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - revokes a person's tokens when they are switched off
