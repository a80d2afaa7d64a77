"""Single sign-on with OpenID Connect (mozilla-django-oidc), configured by OIDC_ISSUER, OIDC_CLIENT_ID and
OIDC_CLIENT_SECRET. The provider's endpoints come from its discovery document.

Who may sign in: a person whose provider vouches for their email (`email_verified`), when that email belongs to
exactly one active account, or to a pending invitation (the OIDC_INVITATION_HOOK accepts it). The provider never
creates an account or gives a role by itself. Sign-ins are audited as password sign-ins are (`auth.login`,
`auth.login_failed`, with `"method": "oidc"`).
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.module_loading import import_string
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from common.types import User

logger = logging.getLogger(__name__)

SESSION_FAILURE_KEY = "sso_failure"
# Why a single sign-on did not sign someone in, as the sign-in page explains it (and the audit event records it).
FAILURES = {
    "unverified": "Your organisation's sign-in did not confirm your email address, so it cannot be matched to an "
                  "account here. Ask your IT team to confirm it, or sign in with your username and password",
    "no_account": "There is no account here for the email address your organisation gave. Ask your agency "
                  "administrator to invite you",
    "several_accounts": "More than one account here has the email address your organisation gave. Ask your agency "
                        "administrator to sort this out",
    "inactive": "Your account here has been switched off. Ask your agency administrator",
    "provider_error": "Signing in through your organisation did not work. Try again, or sign in with your username "
                      "and password",
}


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID and settings.OIDC_RP_CLIENT_SECRET)


def discovery() -> dict[str, Any]:
    """The provider's `/.well-known/openid-configuration`, cached; its `issuer` must be the one configured."""
    issuer = settings.OIDC_ISSUER
    key = f"oidc-discovery:{issuer}"
    document = cache.get(key)
    if document is None:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            named = document.get("issuer")
            raise ImproperlyConfigured(f"The OpenID provider at {issuer} names another issuer: {named}")
        cache.set(key, document, settings.OIDC_DISCOVERY_CACHE_SECONDS)
    return document


def accept_invitation(*, email: str, name: str, request: Any) -> Any:
    """The hook for invitations: OIDC_INVITATION_HOOK(email=, name=, request=) accepts a pending invitation for this
    verified email and returns the new member, or returns None. Until that function exists, nobody is matched."""
    try:
        hook = import_string(settings.OIDC_INVITATION_HOOK)
    except ImportError:
        return None
    return hook(email=email, name=name, request=request)


def _email_verified(claims: dict[str, Any]) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, matched by verified email, never creating anyone.

    Django builds every backend for every sign-in (password ones too) and to load a session's user, so this one
    reads no settings and fetches nothing until a sign-in through the provider actually happens.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = get_user_model()

    OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 - the library's attribute names
        return discovery()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802
        return discovery()["userinfo_endpoint"]

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return discovery()["jwks_uri"]

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # noqa: N802
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:  # noqa: N802
        return settings.OIDC_RP_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:  # noqa: N802
        return settings.OIDC_RP_SIGN_ALGO

    def authenticate(self, request: HttpRequest, *, nonce: str | None,
                     code_verifier: str | None = None) -> User | None:
        """Only the callback view's credentials (a nonce) bind here, so password sign-ins never reach it."""
        if request is None or not enabled():
            return None
        self.request = request
        self.email = ""
        try:
            return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except (requests.RequestException, ValueError, KeyError, SuspiciousOperation, ImproperlyConfigured,
                jwt.PyJWTError) as error:
            logger.warning("single sign-on failed: %s", error)
            self._refuse("provider_error")
            return None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The library checks the signature and the nonce; this also checks who issued the token and for whom."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
            raise SuspiciousOperation("The ID token comes from another issuer.")
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token is meant for another client.")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User | None:
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):  # OpenID Connect Core 5.3.2: otherwise ignore the answer
            logger.warning("single sign-on refused: the userinfo subject differs from the ID token's")
            self._refuse("provider_error")
            return None
        self.email = str(claims.get("email") or "")[:254]
        if not self.email or not _email_verified(claims):
            self._refuse("unverified")
            return None
        users = list(self.UserModel.objects.filter(email__iexact=self.email)[:2])
        if len(users) > 1:
            self._refuse("several_accounts")
            return None
        if users:
            if not users[0].is_active:
                self._refuse("inactive")
                return None
            return self._signed_in(users[0])
        invited = accept_invitation(email=self.email, name=str(claims.get("name") or "")[:150], request=self.request)
        if invited is not None and invited.is_active:
            return self._signed_in(invited)
        self._refuse("no_account")
        return None

    def get_user(self, user_id: int) -> User | None:
        """The session's user, while their account is on (the library's would keep a switched-off person in)."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def create_user(self, claims: dict[str, Any]) -> None:
        raise SuspiciousOperation("Single sign-on never creates an account.")

    def _signed_in(self, user: User) -> User:
        self.request.__dict__["sign_in_detail"] = {"method": "oidc", "email": self.email}  # for the audit event
        return user

    def _refuse(self, reason: str) -> None:
        self.request.__dict__["sign_in_detail"] = {"method": "oidc", "username": self.email, "reason": reason}
        self.request.session[SESSION_FAILURE_KEY] = reason


class SignInRequestView(OIDCAuthenticationRequestView):
    """/oidc/authenticate/: off (404) unless configured; an unreachable provider sends the person back, explained."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:  # noqa: N802
        return discovery()["authorization_endpoint"]

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # noqa: N802
        return settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            discovery()
        except (requests.RequestException, ValueError, ImproperlyConfigured) as error:
            logger.warning("OpenID provider unreachable: %s", error)
            request.session[SESSION_FAILURE_KEY] = "provider_error"
            return HttpResponseRedirect(f"{reverse('login')}?sso=failed")
        return super().get(request)


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """/oidc/callback/: where the provider sends the person back."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        if request.GET.get("error"):
            request.session[SESSION_FAILURE_KEY] = "provider_error"
        if "code" in request.GET and "state" in request.GET and request.GET["state"] not in request.session.get(
                "oidc_states", {}):
            # A stale or replayed link (the back button, a second tab): start again rather than show an error.
            request.session[SESSION_FAILURE_KEY] = "provider_error"
            return self.login_failure()
        return super().get(request)
