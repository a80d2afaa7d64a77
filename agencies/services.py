"""Writes for agencies, datasets, memberships and object permissions. Every grant and revoke is audited here.

Services that a person triggers take `actor` and enforce their own permission rule (raising PermissionDenied),
so the API and the browser cannot disagree. `actor=None` means trusted system code: a management command,
a seed, a migration. Validation problems raise Django's ValidationError with field names (the API answers 400).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from guardian.shortcuts import assign_perm, get_group_perms, remove_perm

from audit import context
from audit.choices import AuditAction
from audit.services import record

from . import selectors
from .choices import Classification, Role
from .models import Agency, AgencyRole, Dataset

T = TypeVar("T")

# What each agency-role group may do on its own agency's objects (see docs/architecture.md).
AGENCY_GRANTS: tuple[tuple[str, Role], ...] = (
    (selectors.CHANGE_AGENCY, Role.AGENCY_ADMIN),
    (selectors.MANAGE_MEMBERS, Role.AGENCY_ADMIN),
)
DATASET_GRANTS: tuple[tuple[str, Role], ...] = (
    (selectors.CHANGE_DATASET, Role.GOVERNANCE_OFFICER),
    (selectors.CHANGE_DATASET, Role.AGENCY_ADMIN),
)
AGENCY_FIELDS = ("name", "kind", "ico_registration", "dpo_email", "siro_name", "caldicott_guardian_name", "active")
DATASET_FIELDS = ("name", "description", "data_items", "special_category", "criminal_offence", "classification")


def _acting_as_actor(service: Callable[..., T]) -> Callable[..., T]:
    """Name the service's `actor` on every event it records, nested grants included, even outside a request."""

    @functools.wraps(service)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        actor = kwargs.get("actor")
        if actor is None:
            return service(*args, **kwargs)
        with context.bind(actor=actor):
            return service(*args, **kwargs)

    return wrapper


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


# Memberships: a membership is a user in an agency-role group.


@transaction.atomic
def membership_grant(*, agency: Agency, user: Any, role: Role | str) -> bool:
    """Give `user` the role in the agency. Returns False (and records nothing) if they already had it."""
    group = agency_role_group(agency=agency, role=role)
    if group.user_set.filter(pk=user.pk).exists():
        return False
    group.user_set.add(user)
    selectors.forget_user_roles(user)
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
    selectors.forget_user_roles(user)
    record(
        action=AuditAction.MEMBERSHIP_REVOKED,
        object_type="membership",
        object_ref=f"{agency.code}:{user.get_username()}:{Role(role).value}",
        agency=agency,
        detail={"username": user.get_username(), "role": Role(role).value, "agency": agency.code},
    )
    return True


def _require_member_manager(actor: Any, agency: Agency) -> None:
    if actor is not None and not selectors.agency_can_manage_members(user=actor, agency=agency):
        raise PermissionDenied(f"Only administrators of {agency.name} can manage its members.")


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationError({"role": f"Choose one of: {', '.join(Role.values)}."}) from None


@_acting_as_actor
@transaction.atomic
def membership_add(*, actor: Any, agency: Agency, username: str, role: Role | str) -> tuple[Any, bool]:
    """An agency admin gives an existing user a role. Returns (user, granted); granted is False if they had it.

    The user must already exist: the API never creates accounts (the `add_member` command does).
    """
    _require_member_manager(actor, agency)
    role = _role(role)
    user = selectors.user_by_username(username=username)
    if user is None:
        raise ValidationError({"username": "No user with that username."})
    return user, membership_grant(agency=agency, user=user, role=role)


@_acting_as_actor
@transaction.atomic
def membership_remove(*, actor: Any, agency: Agency, username: str, role: Role | str) -> bool:
    """An agency admin takes a role away. Returns False if the user did not hold it (or does not exist).

    Admins cannot remove their own admin role, so that an agency is never left without anyone to manage it
    by accident; another admin or a superuser can.
    """
    _require_member_manager(actor, agency)
    role = _role(role)
    user = selectors.user_by_username(username=username)
    if user is None:
        return False
    if actor is not None and role == Role.AGENCY_ADMIN and user.pk == actor.pk and not actor.is_superuser:
        raise ValidationError({"username": "You cannot remove your own administrator role. Ask another administrator."})
    return membership_revoke(agency=agency, user=user, role=role)


# Object permissions: only ever granted to agency-role groups.


def _object_ref(obj: models.Model) -> str:
    return str(getattr(obj, "reference", None) or getattr(obj, "code", None) or obj.pk)


@transaction.atomic
def permission_grant(*, perm: str, agency: Agency, role: Role | str, obj: models.Model) -> bool:
    """Grant an object permission to one agency role's group (never to a single user), and audit it.

    Returns False (and records nothing) if the group already held it.
    """
    group = agency_role_group(agency=agency, role=role)
    codename = perm.split(".", 1)[-1]
    if codename in get_group_perms(group, obj):
        return False
    assign_perm(perm, group, obj)
    record(
        action=AuditAction.PERMISSION_GRANTED,
        object_type=obj._meta.model_name,
        object_ref=_object_ref(obj),
        agency=agency,
        detail={"permission": perm, "group": group.name, "role": Role(role).value},
    )
    return True


@transaction.atomic
def permission_revoke(*, perm: str, agency: Agency, role: Role | str, obj: models.Model) -> bool:
    """Remove an object permission from one agency role's group, and audit it. False if it was not held."""
    group = agency_role_group(agency=agency, role=role)
    codename = perm.split(".", 1)[-1]
    if codename not in get_group_perms(group, obj):
        return False
    remove_perm(perm, group, obj)
    record(
        action=AuditAction.PERMISSION_REVOKED,
        object_type=obj._meta.model_name,
        object_ref=_object_ref(obj),
        agency=agency,
        detail={"permission": perm, "group": group.name, "role": Role(role).value},
    )
    return True


@transaction.atomic
def agency_permissions_ensure(*, agency: Agency) -> int:
    """Make sure the agency's four role groups exist and its admins hold their object permissions.

    Idempotent; returns how many grants were made. For agencies loaded without `agency_create`.
    """
    for role in Role:
        agency_role_group(agency=agency, role=role)
    return sum(permission_grant(perm=perm, agency=agency, role=role, obj=agency) for perm, role in AGENCY_GRANTS)


@transaction.atomic
def dataset_permissions_ensure(*, dataset: Dataset) -> int:
    """Make sure the owner's governance officers and admins may change the dataset. Idempotent."""
    return sum(
        permission_grant(perm=perm, agency=dataset.owner, role=role, obj=dataset) for perm, role in DATASET_GRANTS
    )


# Agencies.


def _save_new(instance: models.Model) -> None:
    """Validate and insert; a unique clash that slips past validation (a race) is still a field error."""
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError({"code": "That code is already in use."}) from exc


def _refuse_code_change(new_code: str | None, code: str, noun: str) -> None:
    if new_code is not None and new_code != code:
        message = f"The {noun}'s code cannot be changed, because other systems use it to find the {noun}."
        raise ValidationError({"code": message})


def _changes(instance: models.Model, values: dict[str, Any], allowed: Iterable[str]) -> dict[str, list[Any]]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    changes = {}
    for name, value in values.items():
        old = getattr(instance, name)
        if old != value:
            changes[name] = [old, value]
            setattr(instance, name, value)
    return changes


@_acting_as_actor
@transaction.atomic
def agency_create(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    ico_registration: str = "",
    dpo_email: str = "",
    siro_name: str = "",
    caldicott_guardian_name: str = "",
    active: bool = True,
) -> Agency:
    """Add an agency (superusers only), create its four role groups and give its admins their permissions."""
    if actor is not None and not selectors.agency_can_create(user=actor):
        raise PermissionDenied("Only registry administrators can add agencies.")
    agency = Agency(
        code=code,
        name=name,
        kind=kind,
        ico_registration=ico_registration,
        dpo_email=dpo_email,
        siro_name=siro_name,
        caldicott_guardian_name=caldicott_guardian_name,
        active=active,
    )
    _save_new(agency)
    record(
        action=AuditAction.AGENCY_CREATED,
        object_type="agency",
        object_ref=agency.code,
        agency=agency,
        detail={"code": agency.code, **{field: getattr(agency, field) for field in AGENCY_FIELDS}},
    )
    agency_permissions_ensure(agency=agency)
    return agency


@_acting_as_actor
@transaction.atomic
def agency_update(*, actor: Any, agency: Agency, **values: Any) -> Agency:
    """Change an agency's details (its admins, or superusers). The code never changes: other systems use it.

    Only superusers may deactivate or reactivate an agency. Nothing changed means nothing recorded.
    """
    if actor is not None and not selectors.agency_can_change(user=actor, agency=agency):
        raise PermissionDenied(f"Only administrators of {agency.name} can change its details.")
    _refuse_code_change(values.pop("code", None), agency.code, "agency")
    agency.refresh_from_db(from_queryset=Agency.objects.select_for_update())
    if "active" in values and values["active"] != agency.active and actor is not None and not actor.is_superuser:
        raise PermissionDenied("Only registry administrators can deactivate or reactivate an agency.")
    changes = _changes(agency, values, AGENCY_FIELDS)
    if not changes:
        return agency
    agency.full_clean()
    agency.save(update_fields=[*changes, "updated_at"])
    record(
        action=AuditAction.AGENCY_UPDATED,
        object_type="agency",
        object_ref=agency.code,
        agency=agency,
        detail={"changes": changes},
    )
    return agency


# Datasets.


def _require_active_owner(owner: Agency) -> None:
    if not owner.active:
        raise ValidationError({"owner": f"{owner.name} is no longer active, so it cannot own datasets."})


@_acting_as_actor
@transaction.atomic
def dataset_create(
    *,
    actor: Any,
    owner: Agency,
    code: str,
    name: str,
    description: str = "",
    data_items: list[str] | None = None,
    special_category: bool = False,
    criminal_offence: bool = False,
    classification: str = Classification.OFFICIAL,
) -> Dataset:
    """Register a dataset for its owner (the owner's governance officers or admins), and let them edit it."""
    if actor is not None and not selectors.dataset_can_create(user=actor, owner=owner):
        raise PermissionDenied(f"Only governance officers and administrators of {owner.name} can add its datasets.")
    owner.refresh_from_db(from_queryset=Agency.objects.select_for_update())  # it must still be active when we commit
    _require_active_owner(owner)
    dataset = Dataset(
        owner=owner,
        code=code,
        name=name,
        description=description,
        data_items=list(data_items or []),
        special_category=special_category,
        criminal_offence=criminal_offence,
        classification=classification,
    )
    _save_new(dataset)
    record(
        action=AuditAction.DATASET_CREATED,
        object_type="dataset",
        object_ref=dataset.code,
        agency=owner,
        detail={
            "code": dataset.code,
            "owner": owner.code,
            **{field: getattr(dataset, field) for field in DATASET_FIELDS},
        },
    )
    dataset_permissions_ensure(dataset=dataset)
    return dataset


@_acting_as_actor
@transaction.atomic
def dataset_update(*, actor: Any, dataset: Dataset, owner: Agency | None = None, **values: Any) -> Dataset:
    """Change a dataset (governance officers or admins of its owner, or superusers).

    Moving it to another owner also needs that role in the new owner, and moves the edit permissions with it.
    """
    if actor is not None and not selectors.dataset_can_change(user=actor, dataset=dataset):
        raise PermissionDenied(
            f"Only governance officers and administrators of {dataset.owner.name} can change this dataset."
        )
    _refuse_code_change(values.pop("code", None), dataset.code, "dataset")
    dataset.refresh_from_db(from_queryset=Dataset.objects.select_for_update().select_related("owner"))
    old_owner = dataset.owner
    moving = owner is not None and owner.pk != old_owner.pk
    if moving:
        if actor is not None and not selectors.dataset_can_create(user=actor, owner=owner):
            raise PermissionDenied(
                f"You can only move a dataset to an agency where you are a governance officer or administrator; "
                f"you are neither in {owner.name}."
            )
        owner.refresh_from_db(from_queryset=Agency.objects.select_for_update())
        _require_active_owner(owner)
    changes = _changes(dataset, values, DATASET_FIELDS)
    if moving:
        changes["owner"] = [old_owner.code, owner.code]
        dataset.owner = owner
    if not changes:
        return dataset
    dataset.full_clean()
    dataset.save()
    record(
        action=AuditAction.DATASET_UPDATED,
        object_type="dataset",
        object_ref=dataset.code,
        agency=dataset.owner,
        detail={"changes": changes},
    )
    if moving:
        for perm, role in DATASET_GRANTS:
            permission_revoke(perm=perm, agency=old_owner, role=role, obj=dataset)
        dataset_permissions_ensure(dataset=dataset)
    return dataset


# Reads that are audited: who looked at what is part of the record.


@transaction.atomic
def agency_record_viewed(*, agency: Agency) -> None:
    record(action=AuditAction.AGENCY_VIEWED, object_type="agency", object_ref=agency.code, agency=agency)


@transaction.atomic
def agency_record_listed(*, filters: dict[str, Any]) -> None:
    record(action=AuditAction.AGENCY_LISTED, object_type="agency", detail={"filters": filters})


@transaction.atomic
def dataset_record_viewed(*, dataset: Dataset) -> None:
    record(action=AuditAction.DATASET_VIEWED, object_type="dataset", object_ref=dataset.code, agency=dataset.owner)


@transaction.atomic
def dataset_record_listed(*, filters: dict[str, Any]) -> None:
    record(action=AuditAction.DATASET_LISTED, object_type="dataset", detail={"filters": filters})


@transaction.atomic
def membership_record_listed(*, agency: Agency, filters: dict[str, Any] | None = None) -> None:
    record(
        action=AuditAction.MEMBERSHIP_LISTED,
        object_type="membership",
        object_ref=agency.code,
        agency=agency,
        detail={"filters": filters or {}},
    )
