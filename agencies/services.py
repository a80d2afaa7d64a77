"""Writes for agencies, datasets, memberships and object permissions. Every grant and revoke is audited here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import models, transaction
from guardian.shortcuts import assign_perm, remove_perm

from audit.choices import AuditAction
from audit.services import record

from .choices import Role
from .models import Agency, AgencyRole


def agency_role_group(*, agency: Agency, role: Role | str) -> Group:
    """The group that holds `role` in `agency`, created on first use."""
    role = Role(role)
    agency_role = AgencyRole.objects.filter(agency=agency, role=role).select_related("group").first()
    if agency_role is not None:
        return agency_role.group
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=f"{agency.code}:{role.value}")
        agency_role, _ = AgencyRole.objects.get_or_create(agency=agency, role=role, defaults={"group": group})
    return agency_role.group


@transaction.atomic
def membership_grant(*, agency: Agency, user: Any, role: Role | str) -> bool:
    """Give `user` the role in the agency. Returns False (and records nothing) if they already had it."""
    group = agency_role_group(agency=agency, role=role)
    if group.user_set.filter(pk=user.pk).exists():
        return False
    group.user_set.add(user)
    record(
        action=AuditAction.MEMBERSHIP_GRANTED,
        object_type="membership",
        object_ref=f"{agency.code}:{user.get_username()}:{Role(role).value}",
        agency=agency,
        detail={"username": user.get_username(), "role": Role(role).value, "agency": agency.code},
    )
    return True


@transaction.atomic
def membership_revoke(*, agency: Agency, user: Any, role: Role | str) -> bool:
    """Take the role away. Returns False if the user did not have it."""
    group = agency_role_group(agency=agency, role=role)
    if not group.user_set.filter(pk=user.pk).exists():
        return False
    group.user_set.remove(user)
    record(
        action=AuditAction.MEMBERSHIP_REVOKED,
        object_type="membership",
        object_ref=f"{agency.code}:{user.get_username()}:{Role(role).value}",
        agency=agency,
        detail={"username": user.get_username(), "role": Role(role).value, "agency": agency.code},
    )
    return True


def _object_ref(obj: models.Model) -> str:
    return str(getattr(obj, "reference", None) or getattr(obj, "code", None) or obj.pk)


@transaction.atomic
def permission_grant(*, perm: str, agency: Agency, role: Role | str, obj: models.Model) -> None:
    """Grant an object permission to one agency role's group (never to a single user), and audit it."""
    group = agency_role_group(agency=agency, role=role)
    assign_perm(perm, group, obj)
    record(
        action=AuditAction.PERMISSION_GRANTED,
        object_type=obj._meta.model_name,
        object_ref=_object_ref(obj),
        agency=agency,
        detail={"permission": perm, "group": group.name, "role": Role(role).value},
    )


@transaction.atomic
def permission_revoke(*, perm: str, agency: Agency, role: Role | str, obj: models.Model) -> None:
    group = agency_role_group(agency=agency, role=role)
    remove_perm(perm, group, obj)
    record(
        action=AuditAction.PERMISSION_REVOKED,
        object_type=obj._meta.model_name,
        object_ref=_object_ref(obj),
        agency=agency,
        detail={"permission": perm, "group": group.name, "role": Role(role).value},
    )
