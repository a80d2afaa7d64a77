"""Types the apps share.

The registry uses Django's own user model (`AUTH_USER_MODEL` is not swapped), so a user is
`django.contrib.auth.models.User`. Services take the signed-in person who acts (`actor: User`); selectors that also
serve the public or a caller before authentication take `user: UserOrAnonymous`.

The two request types are for annotations only: a view behind `login_required` (or an API view behind the default
`IsAuthenticated`) takes `request: AuthenticatedHttpRequest` (or `AuthenticatedRequest`), whose user is signed in.
"""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from rest_framework.request import Request

UserOrAnonymous: TypeAlias = User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    user: User


class AuthenticatedRequest(Request):
    user: User


__all__ = ["AuthenticatedHttpRequest", "AuthenticatedRequest", "User", "UserOrAnonymous"]
