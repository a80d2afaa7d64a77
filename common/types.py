"""Types the apps share.

The registry uses Django's own user model (`AUTH_USER_MODEL` is not swapped), so a user is
`django.contrib.auth.models.User`. Services take the signed-in person who acts (`actor: User`); selectors that also
serve the public or a caller before authentication take `user: UserOrAnonymous`.

The two request types are for annotations only: a view behind `login_required` (or an API view behind the default
`IsAuthenticated`) takes `request: AuthenticatedHttpRequest` (or `AuthenticatedRequest`), whose user is signed in.
"""

import enum
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from rest_framework.request import Request

UserOrAnonymous: TypeAlias = User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    user: User


class AuthenticatedRequest(Request):
    user: User


class Unchanged(enum.Enum):
    """The default of an update service's keyword parameters: a field not given keeps its value. (None cannot say
    that: for some fields it is a value, such as a date cleared on a form.)"""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


def given(fields: Mapping[str, object]) -> dict[str, Any]:
    """The fields an update service was given, in order: those not left UNCHANGED."""
    return {name: value for name, value in fields.items() if value is not UNCHANGED}


__all__ = ["UNCHANGED", "AuthenticatedHttpRequest", "AuthenticatedRequest", "Unchanged", "User", "UserOrAnonymous",
           "given"]
