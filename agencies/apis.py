"""The agencies API: the agency and dataset directories, and each agency's members (docs/api.md).

Each view parses its input with a small serializer, calls one selector or service, and renders the result.
Permission rules live in the services and selectors; bad input is a 400, not allowed is a 403, unknown is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import display_name, job_title
from common.limits import CODE_MAX, DATA_ITEM_MAX, DATA_ITEMS_MAX, DESCRIPTION_MAX, NAME_MAX, api_text, too_many
from common.types import AuthenticatedRequest

from . import selectors, services
from .choices import AgencyKind, Classification, Role
from .models import Agency, Dataset, Invitation


class AuditedApi(GenericAPIView):
    """Base for these views. Audit events name the API user: sharing_registry.authentication sets the actor."""

    def paginated(self, queryset: QuerySet[Any], serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class DirectoryListApi(AuditedApi):
    """The agency or dataset directory: one page, filtered (`editable`: only rows the user may change), the listing
    audited with the filters asked for; `post` adds one, the service deciding who may and auditing it."""

    filter_input: type[serializers.Serializer]
    output: type[serializers.Serializer]
    create_input: type[serializers.Serializer]
    # staticmethods: the selectors and services of the directory
    select: Callable[..., QuerySet[Any]]
    record_listed: Callable[..., None]
    create: Callable[..., Any]

    def check_may_create(self, request: AuthenticatedRequest) -> None:
        """Raise PermissionDenied before reading the input, where the view should refuse outright."""

    def get(self, request: AuthenticatedRequest) -> Response:
        filters = _filters(self.filter_input, request)
        editable = filters.pop("editable", False)
        response = self.paginated(self.select(user=request.user, filters=filters, editable=editable), self.output)
        self.record_listed(filters={**filters, **({"editable": True} if editable else {})})
        return response

    def post(self, request: AuthenticatedRequest) -> Response:
        self.check_may_create(request)
        serializer = self.create_input(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = self.create(actor=request.user, **serializer.validated_data)
        return Response(self.output(created).data, status=status.HTTP_201_CREATED)


class DirectoryDetailApi(AuditedApi):
    """One agency or dataset, by code: every signed-in user reads it (each view audited); `may_change` says who
    changes it. The selectors and services name the object by `noun` (`agency=`, `dataset=`)."""

    noun: str
    output: type[serializers.Serializer]
    update_input: type[serializers.Serializer]
    refusal: str  # the 403's message, formatted with the object as `noun`
    # staticmethods: the selectors and services of the noun
    select: Callable[..., Any]
    may_change: Callable[..., bool]
    record_viewed: Callable[..., None]
    update: Callable[..., Any]

    def get(self, request: AuthenticatedRequest, code: str) -> Response:
        found = self.select(code=code)
        self.record_viewed(**{self.noun: found})
        return Response(self.output(found).data)

    def patch(self, request: AuthenticatedRequest, code: str) -> Response:
        found = self.select(code=code)
        if not self.may_change(user=request.user, **{self.noun: found}):
            raise PermissionDenied(self.refusal.format(**{self.noun: found}))
        serializer = self.update_input(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changed = self.update(actor=request.user, **{self.noun: found}, **serializer.validated_data)
        return Response(self.output(changed).data)


def _filters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    # A plain dict, not the QueryDict: DRF reads a missing boolean in form-style data as False.
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return {name: value for name, value in serializer.validated_data.items() if value not in (None, "")}


CODE_PATH = OpenApiParameter("code", str, OpenApiParameter.PATH, description="The code (a slug), e.g. manchester-cc.")
FORBIDDEN = OpenApiResponse(description="Signed in, but this action is not yours.")
NOT_FOUND = OpenApiResponse(description="No object has that code.")
BAD_INPUT = OpenApiResponse(description="Field errors, as {field: [message]}. Nothing was saved.")


def _list_schema(*, operations: str, summary: str, create_summary: str) -> Callable[[type[Any]], type[Any]]:
    """The schema of a DirectoryListApi, from its serializers: operations `<operations>_list` and `_create`."""

    def document(view: type[Any]) -> type[Any]:
        return extend_schema_view(
            get=extend_schema(operation_id=f"{operations}_list", summary=summary, parameters=[view.filter_input],
                              responses={200: view.output(many=True), 400: BAD_INPUT}),
            post=extend_schema(operation_id=f"{operations}_create", summary=create_summary, request=view.create_input,
                               responses={201: view.output, 400: BAD_INPUT, 403: FORBIDDEN}),
        )(view)

    return document


def _detail_schema(*, operations: str, summary: str, change_summary: str,
                   change_description: str | None = None) -> Callable[[type[Any]], type[Any]]:
    """The schema of a DirectoryDetailApi, from its serializers: operations `<operations>_retrieve` and
    `_partial_update`."""

    def document(view: type[Any]) -> type[Any]:
        return extend_schema_view(
            get=extend_schema(operation_id=f"{operations}_retrieve", summary=summary, parameters=[CODE_PATH],
                              responses={200: view.output, 404: NOT_FOUND}),
            patch=extend_schema(operation_id=f"{operations}_partial_update", summary=change_summary,
                                description=change_description, parameters=[CODE_PATH], request=view.update_input,
                                responses={200: view.output, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND}),
        )(view)

    return document


class AgencyCodeField(serializers.SlugRelatedField):
    """An agency named by its code."""

    default_error_messages = {
        "does_not_exist": "No agency has the code {value}.",
        "invalid": "Give the agency's code.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=Agency.objects.all(), **kwargs)


# Agencies.


class AgencyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = [
            "code",
            "name",
            "kind",
            "ico_registration",
            "dpo_name",
            "dpo_email",
            "siro_name",
            "caldicott_guardian_name",
            "active",
        ]


class AgencyUpdateInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=64, required=False, help_text="Cannot change; accepted if unchanged.")
    name = api_text("name", NAME_MAX, required=False)
    kind = serializers.ChoiceField(choices=AgencyKind.choices, required=False)
    ico_registration = serializers.CharField(max_length=32, required=False, allow_blank=True)
    dpo_name = api_text("Data Protection Officer's name", NAME_MAX, required=False, allow_blank=True)
    dpo_email = serializers.EmailField(required=False, allow_blank=True)
    siro_name = api_text("SIRO's name", NAME_MAX, required=False, allow_blank=True)
    caldicott_guardian_name = api_text("Caldicott Guardian's name", NAME_MAX, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, help_text="Only registry administrators may change it.")


class AgencyCreateInputSerializer(AgencyUpdateInputSerializer):
    code = serializers.SlugField(max_length=CODE_MAX)
    name = api_text("name", NAME_MAX)
    kind = serializers.ChoiceField(choices=AgencyKind.choices)


class AgencyFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, help_text="Name or code contains this text.")
    kind = serializers.ChoiceField(choices=AgencyKind.choices, required=False)
    active = serializers.BooleanField(required=False)
    editable = serializers.BooleanField(required=False, help_text="true: only agencies you may change.")


@_list_schema(operations="agencies", summary="List agencies",
              create_summary="Add an agency (registry administrators: superusers or the registry-admin role)")
class AgencyListApi(DirectoryListApi):
    """The agency directory: every signed-in user may read it; registry administrators add agencies."""

    queryset = Agency.objects.none()  # tells the schema generator the model; rows come from the selectors
    filter_input = AgencyFilterSerializer
    output = AgencyOutputSerializer
    create_input = AgencyCreateInputSerializer
    select = staticmethod(selectors.agency_list)
    record_listed = staticmethod(services.agency_record_listed)
    create = staticmethod(services.agency_create)

    def check_may_create(self, request: AuthenticatedRequest) -> None:
        if not selectors.agency_can_create(user=request.user):
            raise PermissionDenied("Only registry administrators can add agencies.")


@_detail_schema(operations="agencies", summary="One agency",
                change_summary="Change an agency's details (its agency admins, or registry administrators)")
class AgencyDetailApi(DirectoryDetailApi):
    """One agency, by code. Its agency admins and registry administrators may change its details."""

    noun = "agency"
    output = AgencyOutputSerializer
    update_input = AgencyUpdateInputSerializer
    refusal = "Only administrators of {agency.name} can change its details."
    select = staticmethod(selectors.agency_get)
    may_change = staticmethod(selectors.agency_can_change)
    record_viewed = staticmethod(services.agency_record_viewed)
    update = staticmethod(services.agency_update)


# Members.


class MemberOutputSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField(help_text="The person's full name (their username if none is recorded).")
    job_title = serializers.SerializerMethodField()
    email = serializers.EmailField(source="user.email", allow_blank=True)  # documented as an email or ""
    role = serializers.ChoiceField(choices=Role.choices, source="group.agency_role.role")
    active = serializers.BooleanField(source="user.is_active", help_text="false once their account is switched off.")

    def get_name(self, membership: Any) -> str:
        return display_name(membership.user)

    def get_job_title(self, membership: Any) -> str:
        return job_title(membership.user)


class MemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberAddSerializer(MemberInputSerializer):
    email = serializers.EmailField(required=False, max_length=254,
                                   help_text="The account's email address; needed to add someone not yet a member.")
    confirm = serializers.BooleanField(
        required=False, default=False,
        help_text="Add someone who already belongs to another agency, or switch a switched-off account back on. "
        "Without it, such an addition is refused with a 400 on `confirm` saying which (never naming the agency).",
    )


class MemberFilterSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)


class MemberGrantOutputSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)
    granted = serializers.BooleanField(help_text="false if they already held the role (nothing changed).")


class AgencyMembersApi(AuditedApi):
    """An agency's members. Only its agency admins (and superusers) may list or change them."""

    queryset = Agency.objects.none()  # tells the schema generator the model; rows come from the selectors

    def _agency(self, request: AuthenticatedRequest, code: str) -> Agency:
        agency = selectors.agency_get(code=code)
        if not selectors.agency_can_manage_members(user=request.user, agency=agency):
            raise PermissionDenied(f"Only administrators of {agency.name} can see and manage its members.")
        return agency

    @extend_schema(
        operation_id="agencies_members_list",
        summary="List an agency's members",
        parameters=[CODE_PATH, MemberFilterSerializer],
        responses={200: MemberOutputSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: AuthenticatedRequest, code: str) -> Response:
        agency = self._agency(request, code)
        filters = _filters(MemberFilterSerializer, request)
        memberships = selectors.membership_list(agency=agency, role=filters.get("role"))
        response = self.paginated(memberships, MemberOutputSerializer)
        services.membership_record_listed(agency=agency, filters=filters)
        return response

    @extend_schema(
        operation_id="agencies_members_create",
        summary="Give an existing user a role in the agency",
        description="201 when the role is granted, 200 when they already held it. Without `email`, only someone "
        "already in the agency can be named (superusers: anyone); with it, username and email must both match. "
        "Every miss gets the same 400, so nobody learns which usernames exist; new people are invited through "
        "`invitations/`. Nobody may change their own roles (403). Someone who belongs to another agency (never "
        "named), or whose account is switched off, is added only with `confirm: true`; a switched-off account only "
        "by an admin of an agency they belonged to, or a superuser (403 otherwise).",
        parameters=[CODE_PATH],
        request=MemberAddSerializer,
        responses={
            201: MemberGrantOutputSerializer,
            200: MemberGrantOutputSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request: AuthenticatedRequest, code: str) -> Response:
        agency = self._agency(request, code)
        serializer = MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, granted = services.membership_add(actor=request.user, agency=agency, **serializer.validated_data)
        grant = {"user": user, "role": serializer.validated_data["role"], "granted": granted}
        return Response(MemberGrantOutputSerializer(grant).data,
                        status=status.HTTP_201_CREATED if granted else status.HTTP_200_OK)

    @extend_schema(
        operation_id="agencies_members_destroy",
        summary="Take a role away from a member",
        description="204 when the role is taken away; 404 when that user does not hold that role here.",
        parameters=[CODE_PATH, MemberInputSerializer],
        request=None,
        responses={204: None, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def delete(self, request: AuthenticatedRequest, code: str) -> Response:
        agency = self._agency(request, code)
        serializer = MemberInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        if not services.membership_remove(actor=request.user, agency=agency, **serializer.validated_data):
            return Response({"detail": "That user does not hold that role in this agency."}, status=404)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Invitations.


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(source="full_name")
    job_title = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True, help_text="null until the email has gone.")
    expires_at = serializers.DateTimeField(help_text="The link stops working then.")

    def get_invited_by(self, invitation: Invitation) -> str | None:
        return invitation.invited_by.get_username() if invitation.invited_by else None


class InvitationInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200)
    job_title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)


class AgencyInvitationsApi(AgencyMembersApi):
    """Invitations to join an agency. Only its agency admins (and superusers)."""

    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(
        operation_id="agencies_invitations_list",
        summary="List an agency's pending invitations",
        parameters=[CODE_PATH],
        responses={200: InvitationOutputSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: AuthenticatedRequest, code: str) -> Response:
        agency = self._agency(request, code)
        return self.paginated(selectors.invitation_list(agency=agency), InvitationOutputSerializer)

    @extend_schema(
        operation_id="agencies_invitations_create",
        summary="Invite someone by email",
        description="The email carries a link that works once, for 7 days, to set a password and join with the "
        "role. Recorded as `membership.invited`; accepting records `user.created` and `membership.granted`.",
        parameters=[CODE_PATH],
        request=InvitationInputSerializer,
        responses={201: InvitationOutputSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request: AuthenticatedRequest, code: str) -> Response:
        agency = self._agency(request, code)
        serializer = InvitationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invitation = services.invitation_create(actor=request.user, agency=agency, email=data["email"],
                                                full_name=data["name"], job_title=data["job_title"],
                                                role=data["role"])
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


# Datasets.


class DatasetOutputSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField[Agency] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="The owner agency's code.")
    owner_name = serializers.CharField(source="owner.name", read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "code",
            "name",
            "owner",
            "owner_name",
            "description",
            "data_items",
            "special_category",
            "criminal_offence",
            "classification",
        ]


class DatasetUpdateInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=64, required=False, help_text="Cannot change; accepted if unchanged.")
    name = api_text("name", NAME_MAX, required=False)
    owner = AgencyCodeField(required=False, help_text="The owner agency's code.")
    description = api_text("description", DESCRIPTION_MAX, required=False, allow_blank=True)
    data_items = serializers.ListField(
        child=api_text("name of each data item", DATA_ITEM_MAX), required=False, max_length=DATA_ITEMS_MAX,
        error_messages={"max_length": too_many("data items", DATA_ITEMS_MAX)},
        help_text="The named items the dataset holds.",
    )
    special_category = serializers.BooleanField(required=False, help_text="Holds UK GDPR Article 9 data.")
    criminal_offence = serializers.BooleanField(required=False, help_text="Holds UK GDPR Article 10 data.")
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)


class DatasetCreateInputSerializer(DatasetUpdateInputSerializer):
    code = serializers.SlugField(max_length=CODE_MAX)
    name = api_text("name", NAME_MAX)
    owner = AgencyCodeField(help_text="The owner agency's code.")


class DatasetFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, help_text="Name or code contains this text.")
    owner = serializers.SlugField(required=False, help_text="The owner agency's code.")
    special_category = serializers.BooleanField(required=False)
    criminal_offence = serializers.BooleanField(required=False)
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)
    editable = serializers.BooleanField(required=False, help_text="true: only datasets you may change.")


@_list_schema(operations="datasets", summary="List datasets",
              create_summary="Register a dataset (governance officers and agency admins of the owner)")
class DatasetListApi(DirectoryListApi):
    """The dataset directory. Governance officers and agency admins register their own agency's datasets."""

    queryset = Dataset.objects.none()  # tells the schema generator the model; rows come from the selectors
    filter_input = DatasetFilterSerializer
    output = DatasetOutputSerializer
    create_input = DatasetCreateInputSerializer
    select = staticmethod(selectors.dataset_list)
    record_listed = staticmethod(services.dataset_record_listed)
    create = staticmethod(services.dataset_create)


@_detail_schema(operations="datasets", summary="One dataset",
                change_summary="Change a dataset (governance officers and agency admins of its owner)",
                change_description="Moving a dataset to another owner also needs one of those roles in the new owner.")
class DatasetDetailApi(DirectoryDetailApi):
    """One dataset, by code. Governance officers and agency admins of its owner may change it."""

    noun = "dataset"
    output = DatasetOutputSerializer
    update_input = DatasetUpdateInputSerializer
    refusal = "Only governance officers and administrators of {dataset.owner.name} can change this dataset."
    select = staticmethod(selectors.dataset_get)
    may_change = staticmethod(selectors.dataset_can_change)
    record_viewed = staticmethod(services.dataset_record_viewed)
    update = staticmethod(services.dataset_update)
