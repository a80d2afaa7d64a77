"""Reads that depend on who is asking.

Agencies and datasets are a directory every signed-in user may read. What a user may *change* comes from
django-guardian object permissions held by their agency-role groups: single objects are checked with
`user.has_perm(...)` (guardian's ObjectPermissionBackend), lists are restricted with one `EXISTS` join on the
direct foreign-key permission tables, so a list never runs a query per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.selectors import agencies_concerned, is_registry_admin
from common import prepared
from common.types import User

from .choices import Role
from .filters import AgencyFilter, DatasetFilter
from .models import (
    Agency,
    AgencyGroupObjectPermission,
    AgencyRole,
    Dataset,
    DatasetGroupObjectPermission,
    Invitation,
)

CHANGE_AGENCY = "agencies.change_agency"
MANAGE_MEMBERS = "agencies.manage_members"
CHANGE_DATASET = "agencies.change_dataset"
DATASET_EDITOR_ROLES = (Role.GOVERNANCE_OFFICER, Role.AGENCY_ADMIN)


_MEMBERSHIPS_SQL: dict[str, str] = {}


def _memberships_sql() -> str:
    """The memberships query as the ORM writes it, compiled once per database vendor with the user's id as its one
    parameter, `%(user)s`: every signed-in request runs it (the audit log files each event under the actor's
    agencies, the check asks who may ask), and building and compiling the queryset cost more than running it; on
    PostgreSQL it is a prepared statement too, as planning it cost several times running it (common.prepared). The
    user's groups come straight from auth_user_groups, not through auth_group: a three-table join."""
    vendor = connection.vendor
    if vendor not in _MEMBERSHIPS_SQL:
        groups = get_user_model().groups.through.objects.filter(user_id=0).values("group_id")
        roles = AgencyRole.objects.filter(group_id__in=groups).values_list("agency_id", "role", "agency__code")
        sql, params = roles.query.sql_with_params()
        if list(params) != [0] or sql.count("%s") != 1:  # the user's id must be the only parameter
            raise AssertionError(f"unexpected parameters in the memberships query: {params!r}")
        _MEMBERSHIPS_SQL[vendor] = sql.replace("%s", "%(user)s")
    return _MEMBERSHIPS_SQL[vendor]


def _memberships(user: User) -> list[tuple[int, str, str]]:
    """(agency id, role, agency code) for each role the user holds: one query, cached on the user for the request."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_agency_roles_cache", None)
    if cached is None:
        with connection.cursor() as cursor:
            prepared.execute(cursor, "memberships", _memberships_sql(), {"user": user.pk}, {"user": "integer"})
            cached = [(agency_id, role, code) for agency_id, role, code in cursor.fetchall()]
        user.__dict__["_agency_roles_cache"] = cached  # read back by the getattr above, for the rest of the request
    return cached


def user_roles(user: User) -> set[tuple[int, str]]:
    """(agency id, role) pairs the user holds, cached on the user object for the request."""
    return {(agency_id, role) for agency_id, role, _code in _memberships(user)}


def user_agency_codes(user: User, roles: set[Role] | None = None) -> set[str]:
    """The codes of the user's agencies (with `roles`, only where they hold one of them). The audit log files each
    event under every agency of its actor (settings.AUDIT_ACTOR_AGENCIES)."""
    return {code for _agency_id, role, code in _memberships(user) if roles is None or role in roles}


def audited_agency_codes(user: User) -> list[str]:
    """The codes of the agencies where `user` holds the auditor role (settings.AUDIT_AUDITED_AGENCY_CODES)."""
    return sorted(user_agency_codes(user, {Role.AUDITOR}))


def audited_agency_choices(user: User) -> list[tuple[str, str]]:
    """(code, name) of the agencies whose audit events `user` may read, by name: every agency for a superuser
    (settings.AUDIT_AUDITED_AGENCIES)."""
    agencies = Agency.objects.order_by("name")
    if not user.is_superuser:
        agencies = agencies.filter(code__in=audited_agency_codes(user))
    return list(agencies.values_list("code", "name"))


def auditor_emails() -> list[str]:
    """Active auditors of any agency, and superusers, who have an email address (settings.AUDIT_AUDITOR_EMAILS)."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(is_superuser=True) | Q(groups__agency_role__role=Role.AUDITOR))
    return sorted(set(users.values_list("email", flat=True)))


def user_agency_ids(user: User, roles: set[Role] | None = None) -> set[int]:
    return {agency_id for agency_id, role in user_roles(user) if roles is None or role in roles}


def has_role(user: User, agency_id: int, *roles: Role) -> bool:
    return any((agency_id, role) in user_roles(user) for role in roles)


def forget_user_roles(user: User) -> None:
    """Drop the per-request role cache after the user's own memberships change."""
    if hasattr(user, "_agency_roles_cache"):
        del user._agency_roles_cache


# Permission questions about one object (a constant number of queries each).


def _is_superuser(user: User) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def agency_can_create(*, user: User) -> bool:
    """Registry administrators: superusers and holders of the registry-admin role."""
    return is_registry_admin(user)


def agency_can_change(*, user: User, agency: Agency) -> bool:
    """Registry administrators change every agency; its agency admins change their own."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_registry_admin(user) or user.has_perm(CHANGE_AGENCY, agency)


def agency_can_switch_off(*, user: User) -> bool:
    """Only registry administrators deactivate or reactivate an agency."""
    return is_registry_admin(user)


def agency_can_manage_members(*, user: User, agency: Agency) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(MANAGE_MEMBERS, agency)


def dataset_can_create(*, user: User, owner: Agency) -> bool:
    """Governance officers and agency admins of the owner register its datasets (there is no object to hold a
    permission before the dataset exists, so this asks for the role)."""
    if _is_superuser(user):
        return True
    return bool(getattr(user, "is_active", False)) and has_role(user, owner.pk, *DATASET_EDITOR_ROLES)


def dataset_can_change(*, user: User, dataset: Dataset) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(CHANGE_DATASET, dataset)


# Restricted querysets.


def _with_permission(queryset: QuerySet, *, user: User, perm: str, through: type[models.Model],
                     model_wide: bool = False) -> QuerySet:
    """Only the rows on which one of the user's groups holds `perm`: one EXISTS on the direct-FK table. With
    `model_wide`, every row when one of their groups holds `perm` on the whole model (the registry-admin role),
    asked in the same query."""
    if _is_superuser(user):
        return queryset
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    app_label, codename = perm.split(".", 1)
    granted = through._default_manager.filter(
        content_object=OuterRef("pk"),
        permission__codename=codename,
        permission__content_type__app_label=app_label,
        group__user=user,
    )
    condition = Q(Exists(granted))
    if model_wide:
        condition |= Q(Exists(Group.permissions.through.objects.filter(
            group__user=user, permission__codename=codename, permission__content_type__app_label=app_label)))
    return queryset.filter(condition)


def _apply_filters(filterset_class: type, filters: Mapping[str, Any] | None, queryset: QuerySet) -> QuerySet:
    if not filters:
        return queryset
    filterset = filterset_class(data=dict(filters), queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs


def agency_list(*, user: User, filters: Mapping[str, Any] | None = None, editable: bool = False) -> QuerySet[Agency]:
    """Every agency (the directory is public to signed-in users); with `editable`, only those the user may change."""
    queryset = Agency.objects.order_by("name", "code")
    if editable:
        queryset = _with_permission(queryset, user=user, perm=CHANGE_AGENCY, through=AgencyGroupObjectPermission,
                                    model_wide=True)
    return _apply_filters(AgencyFilter, filters, queryset)


def agency_get(*, code: str) -> Agency:
    """The agency with this code, or Http404: every signed-in user may read the directory."""
    agency = Agency.objects.filter(code=code).first()
    if agency is None:
        raise Http404("No agency has that code.")
    return agency


def dataset_list(*, user: User, filters: Mapping[str, Any] | None = None, editable: bool = False) -> QuerySet[Dataset]:
    """Every dataset with its owner; with `editable`, only those the user may change."""
    queryset = Dataset.objects.select_related("owner").order_by("name", "code")
    if editable:
        queryset = _with_permission(queryset, user=user, perm=CHANGE_DATASET, through=DatasetGroupObjectPermission)
    return _apply_filters(DatasetFilter, filters, queryset)


def dataset_get(*, code: str) -> Dataset:
    """The dataset with this code and its owner, or Http404: every signed-in user may read the directory."""
    dataset = Dataset.objects.select_related("owner").filter(code=code).first()
    if dataset is None:
        raise Http404("No dataset has that code.")
    return dataset


def agency_datasets(*, agency: Agency) -> QuerySet[Dataset]:
    return Dataset.objects.filter(owner=agency).order_by("name", "code")


def membership_list(*, agency: Agency, role: Role | str | None = None) -> QuerySet:
    """The agency's memberships, one row per (user, role): rows of the user–group table with user and role loaded.

    The caller checks `agency_can_manage_members` first; members are not public.
    """
    through = get_user_model().groups.through
    queryset = (
        through.objects.filter(group__agency_role__agency=agency)
        .select_related("user__profile", "group__agency_role")
        .order_by("user__profile__full_name", "user__username", "group__agency_role__role")
    )
    if role:
        queryset = queryset.filter(group__agency_role__role=Role(role))
    return queryset


def user_by_username(*, username: str) -> User | None:
    return get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()


def member_to_add(*, actor: User | None, agency: Agency, username: str, email: str | None) -> User | None:
    """The account an admin means when adding someone to `agency`, or None. One answer for every miss, so that
    nobody learns which usernames exist: the username and email must both match; the username alone names only
    someone already in the agency (whom the admin can see anyway), or anyone for a superuser or system code."""
    user = user_by_username(username=username)
    if user is None:
        return None
    if email is not None:
        return user if user.email and user.email.casefold() == email.strip().casefold() else None
    if actor is None or _is_superuser(actor) or agency.pk in user_agency_ids(user):
        return user
    return None


def user_may_reactivate(*, actor: User | None, user: User) -> bool:
    """A switched-off account is switched back on only by a superuser (or system code), or by an administrator of an
    agency the person still belongs to or belonged to when it was switched off; never by another agency's."""
    if actor is None or _is_superuser(actor):
        return True
    codes = set(agencies_concerned(user=user))
    return bool(codes & user_agency_codes(actor, {Role.AGENCY_ADMIN}))


def user_other_agencies(*, user: User, agency: Agency) -> list[Agency]:
    """The other agencies in which the user holds a role (one query)."""
    return list(Agency.objects.filter(roles__group__user=user).exclude(pk=agency.pk).distinct().order_by("name"))


# Invitations.


def invitation_list(*, agency: Agency) -> QuerySet[Invitation]:
    """The agency's invitations still open (not accepted or cancelled), newest first, expired ones included.

    The caller checks `agency_can_manage_members` first."""
    return (
        Invitation.objects.filter(agency=agency, accepted_at__isnull=True, cancelled_at__isnull=True)
        .select_related("invited_by__profile")
        .order_by("-created_at", "-pk")
    )


def invitation_get(*, agency: Agency, pk: Any) -> Invitation:
    invitation = invitation_list(agency=agency).filter(pk=pk).first() if str(pk).isdigit() else None
    if invitation is None:
        raise Http404("No open invitation has that number.")
    return invitation


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def invitation_by_token(*, token: str) -> Invitation | None:
    """The open, unexpired invitation this link's secret belongs to, or None (wrong, used, cancelled or expired)."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.filter(
            token_hash=invitation_token_hash(token), accepted_at__isnull=True, cancelled_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("agency")
        .first()
    )


def user_by_email(*, email: str) -> User | None:
    return get_user_model().objects.filter(email__iexact=email.strip()).order_by("pk").first()
