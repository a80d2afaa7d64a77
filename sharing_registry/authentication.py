"""DRF authentication that also tells the audit log who is acting.

Kept apart from api.py: DRF imports authentication classes while rest_framework.views is still loading.
"""

from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication, exceptions
from rest_framework.throttling import SimpleRateThrottle

from audit import context


class _AuditedActorMixin:
    """Puts the API user into the audit context as soon as DRF has authenticated them."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            context.set_actor(result[0])
        return result


class BadTokenThrottle(SimpleRateThrottle):
    """Counts wrong tokens per client address (rate `bad_token`), so nobody can guess tokens at speed.

    DRF checks its throttles only after authentication has succeeded, so a wrong token would never be counted.
    """

    scope = "bad_token"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def exhausted(self, request) -> bool:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        self.history = [at for at in self.cache.get(self.key, []) if at > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def record_failure(self) -> None:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class TokenAuthentication(_AuditedActorMixin, authentication.TokenAuthentication):
    def authenticate(self, request):
        if not authentication.get_authorization_header(request).lower().startswith(b"token"):
            return None
        throttle = BadTokenThrottle()
        if throttle.exhausted(request):
            raise exceptions.Throttled(
                wait=throttle.wait(), detail="Too many wrong tokens from your address."
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure()
            raise


class SessionAuthentication(_AuditedActorMixin, authentication.SessionAuthentication):
    pass


class AuditedSessionScheme(SessionScheme):
    """Tells drf-spectacular that our session class is Django's session sign-in."""

    target_class = "sharing_registry.authentication.SessionAuthentication"
