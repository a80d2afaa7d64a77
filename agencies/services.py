"""Writes for agencies, datasets, memberships and object permissions. Every grant and revoke is audited here.

Services that a person triggers take `actor` and enforce their own permission rule (raising PermissionDenied),
so the API and the browser cannot disagree. `actor=None` means trusted system code: a management command,
a seed, a migration. Validation problems raise Django's ValidationError with field names (the API answers 400).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_group_perms, remove_perm

from accounts.selectors import display_name
from accounts.services import user_create, user_deactivate, user_profile_update, user_reactivate
from accounts.signals import subject_agencies
from audit.choices import AuditAction
from audit.services import record
from common import context, mail
from common.types import UNCHANGED, Unchanged, User, given

from . import selectors
from .choices import Classification, Role
from .models import Agency, AgencyRole, Dataset, Invitation

T = TypeVar("T")
P = ParamSpec("P")

# What each agency-role group may do on its own agency's objects (see docs/architecture.md).
AGENCY_GRANTS: tuple[tuple[str, Role], ...] = (
    (selectors.CHANGE_AGENCY, Role.AGENCY_ADMIN),
    (selectors.MANAGE_MEMBERS, Role.AGENCY_ADMIN),
)
DATASET_GRANTS: tuple[tuple[str, Role], ...] = (
    (selectors.CHANGE_DATASET, Role.GOVERNANCE_OFFICER),
    (selectors.CHANGE_DATASET, Role.AGENCY_ADMIN),
)
AGENCY_FIELDS = ("name", "kind", "ico_registration", "dpo_name", "dpo_email", "siro_name", "caldicott_guardian_name",
                 "active")
DATASET_FIELDS = ("name", "description", "data_items", "special_category", "criminal_offence", "classification")


def _acting_as_actor(service: Callable[P, T]) -> Callable[P, T]:
    """Name the service's `actor` on every event it records, nested grants included, even outside a request."""

    @functools.wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
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


def _lock_user(user: User) -> None:
    """Serialise changes to one person's memberships: two identical grants at once must record one event."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def _belongs(*, user: User, agency: Agency) -> bool:
    return AgencyRole.objects.filter(agency=agency, group__user=user).exists()


# Who hears of a membership change: the agency it is in and the actor's agencies, always. The person's other
# agencies hear only when the person joins or leaves an agency, so their own auditors know where else they work;
# a change of role inside an agency stays that agency's business.


def _membership_change(*, grant: bool, agency: Agency, user: User, role: Role | str,
                       detail: dict[str, Any] | None) -> bool:
    """Add the user to (or take them out of) the agency role's group, and audit it; False (and nothing recorded)
    when there was nothing to change. Joining or leaving the agency altogether is told to their other agencies."""
    group = agency_role_group(agency=agency, role=role)
    _lock_user(user)
    if group.user_set.filter(pk=user.pk).exists() == grant:
        return False
    if grant:
        crossing = not _belongs(user=user, agency=agency)  # joining the agency
        group.user_set.add(user)
    else:
        group.user_set.remove(user)
        crossing = not _belongs(user=user, agency=agency)  # leaving it
    selectors.forget_user_roles(user)
    record(
        action=AuditAction.MEMBERSHIP_GRANTED if grant else AuditAction.MEMBERSHIP_REVOKED,
        object_type="membership",
        object_ref=f"{agency.code}:{user.get_username()}:{Role(role).value}",
        agency=agency,
        agencies=subject_agencies(user) if crossing else [],
        detail={"username": user.get_username(), "role": Role(role).value, "agency": agency.code, **(detail or {})},
    )
    return True


@transaction.atomic
def membership_grant(*, agency: Agency, user: User, role: Role | str, detail: dict[str, Any] | None = None) -> bool:
    """Give `user` the role in the agency. Returns False (and records nothing) if they already had it."""
    return _membership_change(grant=True, agency=agency, user=user, role=role, detail=detail)


@transaction.atomic
def membership_revoke(*, agency: Agency, user: User, role: Role | str, detail: dict[str, Any] | None = None) -> bool:
    """Take the role away. Returns False if the user did not have it."""
    return _membership_change(grant=False, agency=agency, user=user, role=role, detail=detail)


class ConfirmationNeeded(ValidationError):
    """The admin must say they mean it: the person already belongs to another agency (which one is not said: that
    is the other agency's business), or their account is switched off and adding them switches it back on."""

    def __init__(self, message: str, *, elsewhere: bool, switched_off: bool) -> None:
        super().__init__({"confirm": message})
        self.elsewhere = elsewhere
        self.switched_off = switched_off


NO_MATCHING_ACCOUNT = "No account matches those details. Check them, or invite the person by email instead."
NO_MATCHING_MEMBER = ("No member of {agency} has that username. To add someone who is not yet a member, give their "
                      "email address as well, or invite them by email.")


def _require_member_manager(actor: User | None, agency: Agency) -> None:
    if actor is not None and not selectors.agency_can_manage_members(user=actor, agency=agency):
        raise PermissionDenied(f"Only administrators of {agency.name} can manage its members.")


def _refuse_own_roles(actor: User | None, user: User, agency: Agency) -> None:
    """Separation of duties: nobody changes their own roles, so every grant is checked by a second person."""
    if actor is not None and not actor.is_superuser and user.pk == actor.pk:
        raise PermissionDenied(
            f"You cannot give yourself a role or take one of your own away. Ask another administrator of "
            f"{agency.name}, or a registry administrator."
        )


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationError({"role": f"Choose one of: {', '.join(Role.values)}."}) from None


def _after_last_role(user: User, agency: Agency) -> None:
    """A person left with no role in any agency has left: switch their account off (sessions and tokens end)."""
    if user.is_superuser or AgencyRole.objects.filter(group__user=user).exists():
        return
    user_deactivate(user=user, reason=f"No longer a member of any agency (last removed from {agency.code}).",
                    agencies=[agency.code])


@_acting_as_actor
@transaction.atomic
def membership_add(
    *, actor: User, agency: Agency, username: str, role: Role | str, email: str | None = None, confirm: bool = False,
) -> tuple[Any, bool]:
    """An agency admin gives an existing user a role. Returns (user, granted); granted is False if they had it.

    The account is found by `selectors.member_to_add`, which gives one answer for every miss (no way to learn which
    usernames exist). Someone who belongs to another agency, or whose account is switched off, is added only with
    `confirm` (ConfirmationNeeded says which, never naming the other agencies). A switched-off account is switched
    back on only by those `selectors.user_may_reactivate` allows, and never silently. New people are invited.
    """
    _require_member_manager(actor, agency)
    role = _role(role)
    user = selectors.member_to_add(actor=actor, agency=agency, username=username, email=email)
    if user is None:
        if email is None:
            raise ValidationError({"username": NO_MATCHING_MEMBER.format(agency=agency.name)})
        raise ValidationError({"username": NO_MATCHING_ACCOUNT})
    _refuse_own_roles(actor, user, agency)
    name = display_name(user)
    switched_off = not user.is_active
    if switched_off and not selectors.user_may_reactivate(actor=actor, user=user):
        raise PermissionDenied(
            f"{name}'s account is switched off. Only an administrator of an agency they belonged to, or a "
            "superuser, can switch it back on."
        )
    elsewhere = agency.pk not in selectors.user_agency_ids(user) and bool(
        selectors.user_other_agencies(user=user, agency=agency))
    if (elsewhere or switched_off) and not confirm:
        reasons = []
        if switched_off:
            reasons.append(f"{name}'s account is switched off: adding them switches it back on, and they will have to "
                           "sign in again.")
        if elsewhere:
            reasons.append(f"{name} already belongs to another agency.")
        raise ConfirmationNeeded(
            " ".join(reasons) + f" Confirm that you want to add them to {agency.name}.",
            elsewhere=elsewhere, switched_off=switched_off,
        )
    if switched_off:
        user_reactivate(user=user, reason=f"Given a role in {agency.code} again.", agencies=[agency.code])
    return user, membership_grant(agency=agency, user=user, role=role)


@_acting_as_actor
@transaction.atomic
def membership_remove(*, actor: User, agency: Agency, username: str, role: Role | str) -> bool:
    """An agency admin takes a role away. Returns False if the user did not hold it (or does not exist).

    Nobody removes their own roles (another admin or a superuser can). A person left with no role anywhere is
    switched off.
    """
    _require_member_manager(actor, agency)
    role = _role(role)
    user = selectors.user_by_username(username=username)
    if user is None:
        return False
    _refuse_own_roles(actor, user, agency)
    removed = membership_revoke(agency=agency, user=user, role=role)
    if removed:
        _after_last_role(user, agency)
    return removed


@_acting_as_actor
@transaction.atomic
def membership_leave(*, actor: User, agency: Agency, username: str) -> list[Role]:
    """A leaver: take every role the person holds in the agency away at once. Returns the roles removed."""
    _require_member_manager(actor, agency)
    user = selectors.user_by_username(username=username)
    if user is None:
        return []
    _refuse_own_roles(actor, user, agency)
    held = sorted(Role(role) for agency_id, role in selectors.user_roles(user) if agency_id == agency.pk)
    removed = [role for role in held if membership_revoke(agency=agency, user=user, role=role)]
    if removed:
        _after_last_role(user, agency)
    return removed


@_acting_as_actor
@transaction.atomic
def membership_change_role(
    *, actor: User, agency: Agency, username: str, from_role: Role | str, to_role: Role | str
) -> bool:
    """Move a member from one role to another in one step (one transaction: a revoke and a grant).

    Returns False when nothing changed (the same role chosen). Raises ValidationError if they do not hold
    `from_role`.
    """
    _require_member_manager(actor, agency)
    from_role, to_role = _role(from_role), _role(to_role)
    user = selectors.user_by_username(username=username)
    if user is None or not selectors.has_role(user, agency.pk, from_role):
        raise ValidationError({"username": f"That person is not a {from_role.label.lower()} in {agency.name}."})
    _refuse_own_roles(actor, user, agency)
    if from_role == to_role:
        return False
    change = {"changed_from": from_role.value, "changed_to": to_role.value}
    membership_revoke(agency=agency, user=user, role=from_role, detail=change)
    membership_grant(agency=agency, user=user, role=to_role, detail=change)
    return True


# Object permissions: only ever granted to agency-role groups.


def _object_ref(obj: models.Model) -> str:
    return str(getattr(obj, "reference", None) or getattr(obj, "code", None) or obj.pk)


def _permission_change(*, grant: bool, perm: str, agency: Agency, role: Role | str, obj: models.Model) -> bool:
    """Give or take an object permission of one agency role's group, and audit it; False (and nothing recorded)
    when there was nothing to change."""
    group = agency_role_group(agency=agency, role=role)
    held = perm.split(".", 1)[-1] in get_group_perms(group, obj)
    if held == grant:
        return False
    (assign_perm if grant else remove_perm)(perm, group, obj)
    record(
        action=AuditAction.PERMISSION_GRANTED if grant else AuditAction.PERMISSION_REVOKED,
        object_type=obj._meta.model_name or "",
        object_ref=_object_ref(obj),
        agency=agency,
        detail={"permission": perm, "group": group.name, "role": Role(role).value},
    )
    return True


@transaction.atomic
def permission_grant(*, perm: str, agency: Agency, role: Role | str, obj: models.Model) -> bool:
    """Grant an object permission to one agency role's group (never to a single user), and audit it.

    Returns False (and records nothing) if the group already held it.
    """
    return _permission_change(grant=True, perm=perm, agency=agency, role=role, obj=obj)


@transaction.atomic
def permission_revoke(*, perm: str, agency: Agency, role: Role | str, obj: models.Model) -> bool:
    """Remove an object permission from one agency role's group, and audit it. False if it was not held."""
    return _permission_change(grant=False, perm=perm, agency=agency, role=role, obj=obj)


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


def _insert(instance: Agency | Dataset, *, action: AuditAction, agency: Agency, detail: dict[str, Any],
            fields: Iterable[str]) -> None:
    """Save a new agency or dataset and record its creation with its code, `detail` and the values of `fields`."""
    _save_new(instance)
    record(
        action=action,
        object_type=instance._meta.model_name or "",
        object_ref=instance.code,
        agency=agency,
        detail={"code": instance.code, **detail, **{field: getattr(instance, field) for field in fields}},
    )


def _save_changes(instance: Agency | Dataset, changes: dict[str, list[Any]], *, action: AuditAction,
                  agency: Agency, update_fields: list[str] | None = None) -> None:
    """Validate and save a changed agency or dataset, and record the changes (old and new values)."""
    instance.full_clean()
    instance.save(update_fields=update_fields)
    record(
        action=action,
        object_type=instance._meta.model_name or "",
        object_ref=instance.code,
        agency=agency,
        detail={"changes": changes},
    )


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
    actor: User | None,
    code: str,
    name: str,
    kind: str,
    ico_registration: str = "",
    dpo_name: str = "",
    dpo_email: str = "",
    siro_name: str = "",
    caldicott_guardian_name: str = "",
    active: bool = True,
) -> Agency:
    """Add an agency (registry administrators: superusers or the registry-admin role), create its four role groups
    and give its admins their permissions."""
    if actor is not None and not selectors.agency_can_create(user=actor):
        raise PermissionDenied("Only registry administrators can add agencies.")
    agency = Agency(
        code=code,
        name=name,
        kind=kind,
        ico_registration=ico_registration,
        dpo_name=dpo_name,
        dpo_email=dpo_email,
        siro_name=siro_name,
        caldicott_guardian_name=caldicott_guardian_name,
        active=active,
    )
    _insert(agency, action=AuditAction.AGENCY_CREATED, agency=agency, detail={}, fields=AGENCY_FIELDS)
    agency_permissions_ensure(agency=agency)
    return agency


@_acting_as_actor
@transaction.atomic
def agency_update(
    *,
    actor: User | None,
    agency: Agency,
    code: str | Unchanged = UNCHANGED,
    name: str | Unchanged = UNCHANGED,
    kind: str | Unchanged = UNCHANGED,
    ico_registration: str | Unchanged = UNCHANGED,
    dpo_name: str | Unchanged = UNCHANGED,
    dpo_email: str | Unchanged = UNCHANGED,
    siro_name: str | Unchanged = UNCHANGED,
    caldicott_guardian_name: str | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
) -> Agency:
    """Change an agency's details (its admins, or registry administrators). Fields not given keep their values. The
    code never changes: other systems use it (giving the same code is fine).

    Only registry administrators may deactivate or reactivate an agency. Nothing changed means nothing recorded.
    """
    if actor is not None and not selectors.agency_can_change(user=actor, agency=agency):
        raise PermissionDenied(f"Only administrators of {agency.name} can change its details.")
    values = given({"name": name, "kind": kind, "ico_registration": ico_registration, "dpo_name": dpo_name,
                    "dpo_email": dpo_email, "siro_name": siro_name,
                    "caldicott_guardian_name": caldicott_guardian_name, "active": active})
    _refuse_code_change(None if code is UNCHANGED else code, agency.code, "agency")
    agency.refresh_from_db(from_queryset=Agency.objects.select_for_update())
    if ("active" in values and values["active"] != agency.active and actor is not None
            and not selectors.agency_can_switch_off(user=actor)):
        raise PermissionDenied("Only registry administrators can deactivate or reactivate an agency.")
    changes = _changes(agency, values, AGENCY_FIELDS)
    if not changes:
        return agency
    _save_changes(agency, changes, action=AuditAction.AGENCY_UPDATED, agency=agency,
                  update_fields=[*changes, "updated_at"])
    return agency


# Datasets.


def _require_active_owner(owner: Agency) -> None:
    if not owner.active:
        raise ValidationError({"owner": f"{owner.name} is no longer active, so it cannot own datasets."})


@_acting_as_actor
@transaction.atomic
def dataset_create(
    *,
    actor: User | None,
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
    _insert(dataset, action=AuditAction.DATASET_CREATED, agency=owner, detail={"owner": owner.code},
            fields=DATASET_FIELDS)
    dataset_permissions_ensure(dataset=dataset)
    return dataset


@_acting_as_actor
@transaction.atomic
def dataset_update(
    *,
    actor: User | None,
    dataset: Dataset,
    owner: Agency | None = None,
    code: str | Unchanged = UNCHANGED,
    name: str | Unchanged = UNCHANGED,
    description: str | Unchanged = UNCHANGED,
    data_items: list[str] | Unchanged = UNCHANGED,
    special_category: bool | Unchanged = UNCHANGED,
    criminal_offence: bool | Unchanged = UNCHANGED,
    classification: str | Unchanged = UNCHANGED,
) -> Dataset:
    """Change a dataset (governance officers or admins of its owner, or superusers).

    Moving it to another owner also needs that role in the new owner, and moves the edit permissions with it.
    """
    if actor is not None and not selectors.dataset_can_change(user=actor, dataset=dataset):
        raise PermissionDenied(
            f"Only governance officers and administrators of {dataset.owner.name} can change this dataset."
        )
    values = given({"name": name, "description": description, "data_items": data_items,
                    "special_category": special_category, "criminal_offence": criminal_offence,
                    "classification": classification})
    _refuse_code_change(None if code is UNCHANGED else code, dataset.code, "dataset")
    dataset.refresh_from_db(from_queryset=Dataset.objects.select_for_update().select_related("owner"))
    old_owner = dataset.owner
    new_owner = owner if owner is not None and owner.pk != old_owner.pk else None
    if new_owner is not None:
        if actor is not None and not selectors.dataset_can_create(user=actor, owner=new_owner):
            raise PermissionDenied(
                f"You can only move a dataset to an agency where you are a governance officer or administrator; "
                f"you are neither in {new_owner.name}."
            )
        new_owner.refresh_from_db(from_queryset=Agency.objects.select_for_update())
        _require_active_owner(new_owner)
    changes = _changes(dataset, values, DATASET_FIELDS)
    if new_owner is not None:
        changes["owner"] = [old_owner.code, new_owner.code]
        dataset.owner = new_owner
    if not changes:
        return dataset
    _save_changes(dataset, changes, action=AuditAction.DATASET_UPDATED, agency=dataset.owner)
    if new_owner is not None:
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


# Invitations: an agency admin brings a new person in by email.

INVITATION_VALID_FOR = dt.timedelta(days=7)


def _invitation_event(action: AuditAction, invitation: Invitation, **extra: Any) -> None:
    record(
        action=action,
        object_type="invitation",
        object_ref=str(invitation.pk),
        agency=invitation.agency,
        detail={"invitation": invitation.pk, "email": invitation.email, "name": invitation.full_name,
                "job_title": invitation.job_title, "role": invitation.role, "agency": invitation.agency.code,
                **extra},
    )


def _queue_invitation_email(invitation: Invitation) -> None:
    from .tasks import send_invitation

    pk = invitation.pk
    transaction.on_commit(lambda: send_invitation.delay(pk))


@_acting_as_actor
@transaction.atomic
def invitation_create(
    *, actor: User | None, agency: Agency, email: str, full_name: str, role: Role | str, job_title: str = "",
) -> Invitation:
    """Invite someone by email to take `role` in the agency (its admins). The email is sent after commit and carries
    a link that works once, for 7 days. Recorded as `membership.invited`."""
    _require_member_manager(actor, agency)
    role = _role(role)
    email, full_name, job_title = email.strip(), " ".join(full_name.split()), " ".join(job_title.split())
    errors = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter an email address in the correct format, like name@example.org."
    if not full_name:
        errors["name"] = "Enter the person's full name."
    elif len(full_name) > 200:
        errors["name"] = "Keep the name to 200 characters."
    if len(job_title) > 200:
        errors["job_title"] = "Keep the job title to 200 characters."
    if errors:
        raise ValidationError(errors)
    if actor is not None and not actor.is_superuser and actor.email and actor.email.casefold() == email.casefold():
        raise PermissionDenied(f"You cannot invite yourself to a role. Ask another administrator of {agency.name}.")
    if Invitation.objects.filter(agency=agency, email__iexact=email, accepted_at__isnull=True,
                                 cancelled_at__isnull=True).exists():
        raise ValidationError({"email": f"{email} has already been invited to {agency.name}. Resend or cancel "
                                        "that invitation from the list of pending invitations."})
    invitation = Invitation(agency=agency, email=email, full_name=full_name, job_title=job_title, role=role,
                            invited_by=actor if getattr(actor, "is_authenticated", False) else None,
                            expires_at=timezone.now() + INVITATION_VALID_FOR)
    try:
        with transaction.atomic():
            invitation.save(force_insert=True)
    except IntegrityError as exc:  # the same invitation made twice at once
        raise ValidationError({"email": f"{email} has already been invited to {agency.name}."}) from exc
    _invitation_event(AuditAction.MEMBERSHIP_INVITED, invitation)
    _queue_invitation_email(invitation)
    return invitation


def _lock_open_invitation(invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().select_related("agency").filter(
        pk=invitation.pk, accepted_at__isnull=True, cancelled_at__isnull=True).first()
    if locked is None:
        raise ValidationError({"invitation": "That invitation has already been accepted or cancelled."})
    return locked


@_acting_as_actor
@transaction.atomic
def invitation_resend(*, actor: User, invitation: Invitation) -> Invitation:
    """Send a pending invitation again with a new link, valid for 7 days from now; the old link stops working."""
    _require_member_manager(actor, invitation.agency)
    invitation = _lock_open_invitation(invitation)
    invitation.token_hash = None
    invitation.expires_at = timezone.now() + INVITATION_VALID_FOR
    invitation.save(update_fields=["token_hash", "expires_at"])
    _invitation_event(AuditAction.INVITATION_RESENT, invitation)
    _queue_invitation_email(invitation)
    return invitation


@_acting_as_actor
@transaction.atomic
def invitation_cancel(*, actor: User, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation: its link stops working at once."""
    _require_member_manager(actor, invitation.agency)
    invitation = _lock_open_invitation(invitation)
    invitation.cancelled_at = timezone.now()
    invitation.token_hash = None
    invitation.save(update_fields=["cancelled_at", "token_hash"])
    _invitation_event(AuditAction.INVITATION_CANCELLED, invitation)
    return invitation


def invitation_send(*, invitation_id: int) -> bool:
    """Email an open invitation a fresh one-time link (the background task). Only the link's hash is stored, and it
    is stored only if the email is sent, so the secret never passes through the broker or sits in the database.

    Returns False when the invitation is no longer open (accepted or cancelled meanwhile)."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related(
            "agency", "invited_by__profile").filter(
            pk=invitation_id, accepted_at__isnull=True, cancelled_at__isnull=True).first()
        if invitation is None:
            return False
        token = secrets.token_urlsafe(32)
        invitation.token_hash = selectors.invitation_token_hash(token)
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["token_hash", "sent_at"])
        link = settings.SITE_URL + reverse("invitation-accept", args=[token])
        message = mail.message(
            template="invitation",
            subject=f"You are invited to join {invitation.agency.name} on the Sharing Registry",
            to=[invitation.email],
            context={"invitation": invitation, "link": link, "role": Role(invitation.role).label.lower(),
                     "inviter": display_name(invitation.invited_by) if invitation.invited_by else "",
                     "expires_at": invitation.expires_at},
        )
        mail.send_all([message])  # a failure rolls the new hash back; the task retries with another secret
    return True


@transaction.atomic
def invitation_accept(*, token: str, password: str | None = None, user: User | None = None) -> tuple[Any, Invitation]:
    """Use an invitation link: make the account (with `password`, checked by Django's validators) or, for someone
    already signed in with the invited email address, use theirs; then give the role. The link then stops working.

    Recorded as `user.created` (a new account) and `membership.granted`, both by the person accepting."""
    invitation = selectors.invitation_by_token(token=token)
    if invitation is None:
        raise ValidationError({"token": "This invitation link has expired, has been used, or has been cancelled. "
                                        "Ask your agency administrator to send a new one."})
    invitation = _lock_open_invitation(invitation)
    if invitation.expires_at <= timezone.now():
        raise ValidationError({"token": "This invitation link has expired. Ask your agency administrator to send "
                                        "a new one."})
    if user is not None and getattr(user, "is_authenticated", False):
        if user.email.casefold() != invitation.email.casefold():
            raise PermissionDenied(f"This invitation is for {invitation.email}. Sign out, then open the link again.")
        with context.bind(actor=user):
            user_profile_update(user=user, full_name=None, job_title=invitation.job_title or None)
    else:
        if selectors.user_by_email(email=invitation.email) is not None:
            raise ValidationError({"token": f"An account already uses {invitation.email}. Sign in with it, then "
                                            "open the link again to accept."})
        with context.bind(actor=None, system_actor="invitation"):
            user = user_create(username=invitation.email.lower(), email=invitation.email,
                               full_name=invitation.full_name, job_title=invitation.job_title,
                               password=password or "", how=f"invitation {invitation.pk} to {invitation.agency.code}",
                               agencies=[invitation.agency.code])
    with context.bind(actor=user):
        membership_grant(agency=invitation.agency, user=user, role=invitation.role,
                         detail={"invitation": invitation.pk})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.token_hash = None
    invitation.save(update_fields=["accepted_at", "accepted_by", "token_hash"])
    return user, invitation


def check_may_change_roles(*, actor: User, agency: Agency, user: User) -> None:
    """Raise PermissionDenied unless `actor` may change `user`'s roles in `agency` (pages ask before confirming)."""
    _require_member_manager(actor, agency)
    _refuse_own_roles(actor, user, agency)


@transaction.atomic
def invitation_accept_for_sso(*, email: str, name: str = "", request: Any = None) -> Any:
    """Single sign-on's hook (settings.OIDC_INVITATION_HOOK): the identity provider has verified `email`. Accept
    every open, unexpired invitation for that address and return the new member, or None when there is none (or an
    account already uses the address: single sign-on matches that account itself). The account has no password;
    the person signs in through their organisation. Records `user.created` and a `membership.granted` per invitation.
    """
    email = (email or "").strip()
    if not email or selectors.user_by_email(email=email) is not None:
        return None
    invitations = list(
        Invitation.objects.select_for_update(of=("self",)).select_related("agency")
        .filter(email__iexact=email, accepted_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("created_at", "pk")
    )
    if not invitations:
        return None
    first = invitations[0]
    with context.bind(actor=None, system_actor="single-sign-on"):
        user = user_create(username=email.lower(), email=email, full_name=first.full_name or name,
                           job_title=first.job_title, password=None,
                           how=f"single sign-on, invitation {first.pk} to {first.agency.code}",
                           agencies=sorted({invitation.agency.code for invitation in invitations}))
    now = timezone.now()
    with context.bind(actor=user):
        for invitation in invitations:
            membership_grant(agency=invitation.agency, user=user, role=invitation.role,
                             detail={"invitation": invitation.pk, "via": "single sign-on"})
            invitation.accepted_at, invitation.accepted_by, invitation.token_hash = now, user, None
            invitation.save(update_fields=["accepted_at", "accepted_by", "token_hash"])
    return user
