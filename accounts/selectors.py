"""Who a person is, as the pages show them: a name, not a username."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet

from common.types import User

if TYPE_CHECKING:
    from .models import Profile


def _profile(user: User) -> Profile | None:
    try:
        return user.profile
    except (ObjectDoesNotExist, AttributeError):
        return None


def display_name(user: User | None) -> str:
    """The person's full name; failing that Django's first and last name; failing that their username.

    Load lists with `select_related("user__profile")` (or `"profile"`) so this costs no query per row.
    """
    if user is None:
        return ""
    profile = _profile(user)
    if profile is not None and profile.full_name:
        return profile.full_name
    return (user.get_full_name() or user.get_username()).strip()


def job_title(user: User) -> str:
    profile = _profile(user)
    return profile.job_title if profile is not None else ""


def agencies_concerned(*, user: User, also: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every agency a change to `user`'s account concerns: those they belong to, those they belonged to when it
    was last switched off, and `also`. Their administrators may switch it back on and their auditors see it."""
    from .models import Profile
    from .signals import subject_agencies

    last = Profile.objects.filter(user=user).values_list("last_agencies", flat=True).first() or []
    return sorted({*subject_agencies(user), *last, *also})


REGISTRY_ADMIN_GROUP = "Registry administrators"
# What the registry-admin role holds: adding and changing agencies, and nothing more (model permissions, so the
# Django admin shows them on the group; ModelBackend answers `user.has_perm` in one cached query).
REGISTRY_ADMIN_PERMISSIONS = ("agencies.add_agency", "agencies.change_agency")


def is_registry_admin(user: User) -> bool:
    """Superusers, and active holders of the registry-admin role: they add and change every agency. One query,
    kept on the user for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_registry_admin_cache", None)
    if cached is None:
        cached = user.groups.filter(name=REGISTRY_ADMIN_GROUP).exists()
        user.__dict__["_registry_admin_cache"] = cached  # read back by the getattr above, for the rest of the request
    return cached


def registry_admins() -> QuerySet[User]:
    """The people who hold the registry-admin role (not superusers as such), by username."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(groups__name=REGISTRY_ADMIN_GROUP).order_by("username")
