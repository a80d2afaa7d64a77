"""System checks: refuse to run a production without a valid audit signing key."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import keys


@checks.register("audit")
def signing_key_check(app_configs, **kwargs):
    if settings.AUDIT_SIGNING_KEY:
        try:
            keys.parse_private_key(settings.AUDIT_SIGNING_KEY)
        except (ImproperlyConfigured, ValueError) as exc:
            return [checks.Error(str(exc), id="audit.E002")]
        return []
    if not getattr(settings, "AUDIT_SIGNING_KEY_GENERATE", settings.DEBUG):
        return [checks.Error(keys.MISSING_KEY, id="audit.E001")]
    return []
