"""The sign-in lockout backend: django-axes, for sign-ins that come from a request."""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check, first in AUTHENTICATION_BACKENDS. Every sign-in form passes the request; a call with no
    request (Django's test client `login()`, a script) is no web sign-in, and is left to the next backend; nor is a
    sign-in with no password (single sign-on)."""

    def authenticate(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> Any:
        if request is None or "password" not in kwargs:  # single sign-on is the provider's to lock out
            return None
        return super().authenticate(request, *args, **kwargs)
