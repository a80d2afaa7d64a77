"""DRF authentication that also tells the audit log who is acting.

Kept apart from api.py: DRF imports authentication classes while rest_framework.views is still loading.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from drf_spectacular.authentication import SessionScheme, TokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from rest_framework import authentication, exceptions
from rest_framework.throttling import SimpleRateThrottle

from common import context
from tokens.models import ApiToken

if TYPE_CHECKING:  # DRF's settings load this module while rest_framework.views is still importing
    from rest_framework.request import Request
    from rest_framework.views import APIView

# Keys are 64 hex characters (django-rest-knox); 40 for keys carried over from DRF's old token table.
KEY_PATTERN = re.compile(r"[0-9a-f]{64}|[0-9a-f]{40}")
LAST_USED_EVERY = timedelta(minutes=1)  # a token's "last used" is written at most this often


class _AuditedActorMixin(authentication.BaseAuthentication):
    """Puts the API user into the audit context as soon as DRF has authenticated them."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            context.set_actor(result[0])
        return result


class BadTokenThrottle(SimpleRateThrottle):
    """Counts wrong tokens per client address (rate `bad_token`), so nobody can guess tokens at speed.

    DRF checks its throttles only after authentication has succeeded, so a wrong token would never be counted.
    """

    scope = "bad_token"
    duration: int  # set from the rate by SimpleRateThrottle.__init__
    num_requests: int

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def exhausted(self, request: Request) -> bool:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        self.history = [at for at in self.cache.get(self.key, []) if at > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def record_failure(self) -> None:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class TokenAuthentication(_AuditedActorMixin, KnoxTokenAuthentication):
    """`Authorization: Token <key>` against hashed, expiring tokens (tokens.ApiToken, django-rest-knox).

    Wrong tokens are counted per address, and once an address is over its limit its wrong tokens get 429 instead
    of 401; a right token is always looked at and always accepted. Keys carry 256 random bits, so the limit is
    there to quieten a misconfigured system, not to stop guessing, and one broken integration behind a council's
    shared address must not lock out the others.
    """

    keyword = "Token"  # the contract's header keyword, and the 401's WWW-Authenticate challenge

    def authenticate_header(self, request: Request) -> str:
        return self.keyword

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"token":
            return None
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle = BadTokenThrottle()
            if throttle.exhausted(request):
                raise exceptions.Throttled(
                    wait=throttle.wait(), detail="Too many wrong tokens from your address."
                ) from None
            throttle.record_failure()
            raise

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        key = token.decode("utf-8", "replace")
        if not KEY_PATTERN.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        # Found by its digest (unique, indexed): one query, and the key itself is never stored.
        found = ApiToken.objects.select_related("user").filter(digest=hash_token(key)).first()
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if found.expiry <= now:
            raise exceptions.AuthenticationFailed("This token has expired. Ask your agency administrator for another.")
        if not found.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if found.last_used_at is None or found.last_used_at <= now - LAST_USED_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return found.user, found


class SessionAuthentication(_AuditedActorMixin, authentication.SessionAuthentication):
    pass


class AuditedTokenScheme(TokenScheme):
    """Tells drf-spectacular that our token class is the `Authorization: Token <key>` scheme."""

    target_class = "sharing_registry.authentication.TokenAuthentication"


class AuditedSessionScheme(SessionScheme):
    """Tells drf-spectacular that our session class is Django's session sign-in."""

    target_class = "sharing_registry.authentication.SessionAuthentication"
