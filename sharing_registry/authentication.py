"""DRF authentication that also tells the audit log who is acting.

Kept apart from api.py: DRF imports authentication classes while rest_framework.views is still loading.
"""

from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication

from audit import context


class _AuditedActorMixin:
    """Puts the API user into the audit context as soon as DRF has authenticated them."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            context.set_actor(result[0])
        return result


class TokenAuthentication(_AuditedActorMixin, authentication.TokenAuthentication):
    pass


class SessionAuthentication(_AuditedActorMixin, authentication.SessionAuthentication):
    pass


class AuditedSessionScheme(SessionScheme):
    """Tells drf-spectacular that our session class is Django's session sign-in."""

    target_class = "sharing_registry.authentication.SessionAuthentication"
