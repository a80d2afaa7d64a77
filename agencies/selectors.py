"""Reads that depend on who is asking."""

from __future__ import annotations

from typing import Any

from .choices import Role
from .models import AgencyRole


def user_roles(user: Any) -> set[tuple[int, str]]:
    """(agency id, role) pairs the user holds, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_agency_roles_cache", None)
    if cached is None:
        cached = set(AgencyRole.objects.filter(group__user=user).values_list("agency_id", "role"))
        user._agency_roles_cache = cached
    return cached


def user_agency_ids(user: Any, roles: set[Role] | None = None) -> set[int]:
    return {agency_id for agency_id, role in user_roles(user) if roles is None or role in roles}


def has_role(user: Any, agency_id: int, *roles: Role) -> bool:
    return any((agency_id, role) in user_roles(user) for role in roles)
