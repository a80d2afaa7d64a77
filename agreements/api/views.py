"""The agreements API: legal bases, agreements and their lifecycle, and the check (docs/api.md).

Views parse input, call one selector or service, and render. Invisible agreements give 404 (the selectors),
actions not yours 403 and wrong-state actions 409 (the services).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from common.types import AuthenticatedRequest, User

from .. import decisions, services
from ..compare import compare_versions
from ..models import Agreement, AgreementVersion, LegalBasis, VersionComment
from ..rules import TermsInvalid
from ..selectors import (
    CHECK_REFUSED,
    REGISTER_COUNT_CAP,
    RegisterPaginator,
    agreement_get,
    agreement_get_full,
    agreement_search,
    may_ask_check,
    version_comments,
    version_get,
)
from .serializers import (
    AgreementFilterSerializer,
    AgreementInputSerializer,
    AgreementOutputSerializer,
    ApproveInputSerializer,
    CheckInputSerializer,
    CheckOutputSerializer,
    CommentInputSerializer,
    CommentOutputSerializer,
    CompareQuerySerializer,
    ComparisonOutputSerializer,
    LegalBasisOutputSerializer,
    ReasonInputSerializer,
    RequestChangesInputSerializer,
    ReviewInputSerializer,
    VersionOutputSerializer,
    check_response,
)

T = TypeVar("T")


class LegalBasisListApi(generics.ListAPIView):
    """The catalogue of lawful bases, conditions and statutory gateways, each in plain English."""

    serializer_class = LegalBasisOutputSerializer
    queryset = LegalBasis.objects.filter(active=True).order_by("kind", "code")
    filterset_fields = ["kind"]


class LegalBasisDetailApi(generics.RetrieveAPIView):
    """One lawful basis, condition or statutory gateway, by its code."""

    serializer_class = LegalBasisOutputSerializer
    queryset = LegalBasis.objects.filter(active=True)
    lookup_field = "code"


EXAMPLE = OpenApiExample(
    "Hospital discharge",
    request_only=True,
    value={
        "title": "Hospital discharge to adult social care", "purpose": "Plan care for patients leaving hospital",
        "lead_agency": "manchester-cc", "start_date": "2026-01-01", "end_date": "2027-12-31",
        "review_date": "2027-06-30",
        "flows": [{"dataset": "mft-discharge-summaries", "provider": "mft", "recipient": "manchester-cc",
                   "purpose": "Discharge planning", "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h"]}],
    },
)


FLOWS_NOT_A_LIST = "Give the flows as a list, with one object for each flow of data."


def _valid(serializer: serializers.Serializer) -> dict[str, Any]:
    """Validate input; flow errors always come back as a list with one entry per flow, as the services give them."""
    if serializer.is_valid():
        return serializer.validated_data
    errors = dict(serializer.errors)
    body = serializer.initial_data
    flows, given = errors.get("flows"), body.get("flows") if isinstance(body, dict) else None
    if isinstance(flows, dict) and not isinstance(given, list):  # a number, a string, an object...
        errors["flows"] = [FLOWS_NOT_A_LIST]
    elif isinstance(flows, dict) and "non_field_errors" in flows:  # the list as a whole, e.g. too long
        errors["flows"] = list(flows["non_field_errors"])
    elif isinstance(flows, dict) and isinstance(given, list):
        errors["flows"] = [flows.get(str(i), flows.get(i, {})) for i in range(len(given))]
    raise serializers.ValidationError(errors)


def _terms(call: Callable[[], T]) -> T:
    """Run a service call, turning broken rules into DRF field errors (400)."""
    try:
        return call()
    except TermsInvalid as exc:
        raise serializers.ValidationError(exc.errors) from exc


def _respond(request: AuthenticatedRequest, agreement: Agreement, code: int = status.HTTP_200_OK) -> Response:
    fresh = agreement_get(user=request.user, reference=agreement.reference)
    return Response(AgreementOutputSerializer(fresh).data, status=code)


# --- views ---------------------------------------------------------------------------------------------------


class _AuditedListApi(generics.ListAPIView):
    """A list whose every request is audited, once its page is rendered; the selectors filter, not DRF."""

    request: AuthenticatedRequest  # let in only signed in (permission_classes)
    filter_backends: list = []

    def record_listed(self, response: Response) -> None:  # pragma: no cover
        raise NotImplementedError

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        self.record_listed(response)
        return response


# The base is the project's pages (page_size, bounds), named by the settings: mypy cannot follow it.
class RegisterPagination(api_settings.DEFAULT_PAGINATION_CLASS):  # type: ignore[name-defined]
    """The API's pages, counted only as far as REGISTER_COUNT_CAP: `count_exact` is false when there are more
    agreements than that, and `count` is then the cap ("more than 1,000"). `next` still leads to every page;
    `page=last` counts every agreement and gives the last page (docs/api.md)."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        def paginator(_rows: QuerySet[Agreement], per_page: int) -> RegisterPaginator:
            return RegisterPaginator(view.search, per_page)  # the search, which it counts part by part

        self.django_paginator_class = paginator
        return super().paginate_queryset(queryset, request, view)

    def get_page_number(self, request: Request, paginator: Any) -> int | str:
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            return RegisterPaginator.LAST  # the paginator counts every row for it, in the page's own query
        return super().get_page_number(request, paginator)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        paginator = self.page.paginator
        response.data["count"] = paginator.shown_count
        response.data["count_exact"] = not paginator.capped
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count"]["description"] = (
            f"How many agreements match, counted up to {REGISTER_COUNT_CAP:,}: with count_exact false, more than that "
            "(page=last counts them all).")
        schema["properties"]["count_exact"] = {"type": "boolean", "example": True}
        schema["required"] = [*schema.get("required", []), "count_exact"]
        return schema


@extend_schema_view(
    get=extend_schema(
        summary="List agreements you can see",
        parameters=[AgreementFilterSerializer],
        description="Active agreements appear to everyone signed in as a summary; drafts and full records appear "
                    "only to members of a party agency. Every list request is audited.",
    ),
    post=extend_schema(
        summary="Draft an agreement",
        request=AgreementInputSerializer,
        responses={201: AgreementOutputSerializer},
        examples=[EXAMPLE],
        description="Governance officers of the lead agency only. The agreement starts as a draft; `warnings` "
                    "lists things to check that do not block it.",
    ),
)
class AgreementListCreateApi(_AuditedListApi):
    serializer_class = AgreementOutputSerializer
    pagination_class = RegisterPagination

    def get_queryset(self) -> QuerySet[Agreement]:
        filters = AgreementFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        self.filters = filters.validated_data
        self.search = agreement_search(user=self.request.user, filters=self.filters)
        return self.search.rows()

    def record_listed(self, response: Response) -> None:
        services.agreement_record_listed(actor=self.request.user, filters=self.filters, count=response.data["count"],
                                         count_exact=response.data["count_exact"])

    def post(self, request: AuthenticatedRequest) -> Response:
        data = _valid(AgreementInputSerializer(data=request.data))
        agreement = _terms(lambda: services.agreement_create(actor=request.user, **data))
        return _respond(request, agreement, status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="One agreement", responses=AgreementOutputSerializer,
                      description="Each view is audited (agreement.viewed)."),
    patch=extend_schema(
        summary="Change a draft",
        request=AgreementInputSerializer(partial=True),
        responses=AgreementOutputSerializer,
        description="Governance officers of the lead agency, while the current version is a draft (409 otherwise). "
                    "`flows`, when given, replaces every flow.",
    ),
)
class AgreementDetailApi(APIView):
    serializer_class = AgreementOutputSerializer

    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        agreement = agreement_get(user=request.user, reference=reference)
        services.agreement_record_viewed(actor=request.user, agreement=agreement)
        return Response(AgreementOutputSerializer(agreement).data)

    def patch(self, request: AuthenticatedRequest, reference: str) -> Response:
        agreement = agreement_get(user=request.user, reference=reference)
        data = _valid(AgreementInputSerializer(data=request.data, partial=True))
        agreement = _terms(lambda: services.agreement_update(actor=request.user, agreement=agreement, **data))
        return _respond(request, agreement)


class _ActionApi(APIView):
    """POST a lifecycle action on a visible agreement; the service decides 403 and 409.

    `service` is called with the actor, the agreement and the input's fields as its keyword arguments."""

    service: Callable[..., Agreement]  # a staticmethod: a services.agreement_<action>
    input_serializer: type[serializers.Serializer] | None = None
    serializer_class = AgreementOutputSerializer
    created = False  # True when the action makes a new agreement (201)

    def act(self, *, actor: User, agreement: Agreement, data: dict[str, Any]) -> Agreement:
        return self.service(actor=actor, agreement=agreement, **data)

    def post(self, request: AuthenticatedRequest, reference: str) -> Response:
        agreement = agreement_get(user=request.user, reference=reference)
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        agreement = _terms(lambda: self.act(actor=request.user, agreement=agreement, data=data))
        return _respond(request, agreement, status.HTTP_201_CREATED if self.created else status.HTTP_200_OK)


def _action_schema(summary: str, description: str, request: Any = None) -> Callable[[type[T]], type[T]]:
    return extend_schema_view(post=extend_schema(
        summary=summary, description=description, request=request, responses={
            200: AgreementOutputSerializer,
            403: {"description": "The action is not yours."},
            404: {"description": "No such agreement visible to you."},
            409: {"description": "The agreement is in the wrong state for this action."},
        },
    ))


@_action_schema("Submit for signature", "Draft → submitted. Governance officers of the lead agency.")
class AgreementSubmitApi(_ActionApi):
    service = staticmethod(services.agreement_submit)


@_action_schema(
    "Sign for one party",
    "A governance officer signs the submitted version for one party agency; when every party has signed, the "
    "agreement is active. The officer who last edited the version cannot sign it for the lead agency.",
    ApproveInputSerializer,
)
class AgreementApproveApi(_ActionApi):
    service = staticmethod(services.agreement_approve)
    input_serializer = ApproveInputSerializer

    def act(self, *, actor: User, agreement: Agreement, data: dict[str, Any]) -> Agreement:
        # The API's `authorised_to_sign` is the service's `declared`.
        return self.service(actor=actor, agreement=agreement, agency=data.get("agency"),
                            declared=data.get("authorised_to_sign", False))


@_action_schema("Reject", "Submitted → rejected (an amendment's rejection leaves the agreement in force).",
                ReasonInputSerializer)
class AgreementRejectApi(_ActionApi):
    service = staticmethod(services.agreement_reject)
    input_serializer = ReasonInputSerializer


@_action_schema("Suspend", "Active → suspended. Governance officers of any party.", ReasonInputSerializer)
class AgreementSuspendApi(_ActionApi):
    service = staticmethod(services.agreement_suspend)
    input_serializer = ReasonInputSerializer


@_action_schema("Reinstate", "Suspended → active. Governance officers of any party.", ReasonInputSerializer)
class AgreementReinstateApi(_ActionApi):
    service = staticmethod(services.agreement_reinstate)
    input_serializer = ReasonInputSerializer


@_action_schema("Revoke", "Active or suspended → revoked (final). Governance officers of any party.",
                ReasonInputSerializer)
class AgreementRevokeApi(_ActionApi):
    service = staticmethod(services.agreement_revoke)
    input_serializer = ReasonInputSerializer


@_action_schema(
    "Start an amendment",
    "Active agreements only: a new draft version copied from the one in force. The signed version stays in force "
    "until every party has signed the new one. Governance officers of the lead agency.",
)
class AgreementAmendApi(_ActionApi):
    service = staticmethod(services.agreement_amend)


@_action_schema(
    "Withdraw to change it",
    "Awaiting signatures → draft, its signatures cleared. Governance officers of the lead agency.",
    ReasonInputSerializer,
)
class AgreementWithdrawApi(_ActionApi):
    service = staticmethod(services.agreement_withdraw)
    input_serializer = ReasonInputSerializer


@_action_schema(
    "Ask for changes",
    "Awaiting signatures → draft, its signatures cleared; the comments stay with the version, shown to every party. "
    "Governance officers of the parties to the version awaiting signature.",
    RequestChangesInputSerializer,
)
class AgreementRequestChangesApi(_ActionApi):
    service = staticmethod(services.agreement_request_changes)
    input_serializer = RequestChangesInputSerializer


@extend_schema_view(post=extend_schema(
    summary="Copy into a new draft",
    description="A new draft agreement (a new reference) with the terms of this one's latest version, in any state. "
                "Governance officers of the lead agency.",
    request=None,
    responses={201: AgreementOutputSerializer, 403: {"description": "The action is not yours."},
               404: {"description": "No such agreement visible to you."}},
))
class AgreementCopyApi(_ActionApi):
    service = staticmethod(services.agreement_copy)
    created = True


@_action_schema(
    "Confirm the review",
    "A party confirms the review of the version in force with no changes, and proposes the next review date; "
    "nothing is signed again. Once every party of the version in force has confirmed, `review_date` becomes the "
    "earliest date proposed. Active or suspended agreements (409 otherwise, and for a second confirmation by the "
    "same party in one review). Governance officers of the parties of the version in force (403 otherwise).",
    ReviewInputSerializer,
)
class AgreementReviewApi(_ActionApi):
    service = staticmethod(services.agreement_review)
    input_serializer = ReviewInputSerializer


# --- versions ------------------------------------------------------------------------------------------------


class VersionListApi(APIView):
    """Every version of an agreement, newest first. For those who see its full record (others get 404)."""

    @extend_schema(summary="The versions of an agreement", responses=VersionOutputSerializer(many=True))
    def get(self, request: AuthenticatedRequest, reference: str) -> Response:
        agreement = agreement_get_full(user=request.user, reference=reference)
        versions = agreement.versions.order_by("-number")
        for version in versions:
            version.__dict__["in_force"] = version.pk == agreement.in_force_version_id  # for the serializer
        services.agreement_record_viewed(actor=request.user, agreement=agreement, page="versions")
        return Response(VersionOutputSerializer(versions, many=True).data)


class VersionCompareApi(APIView):
    """What changed in version `number` from version `to`: terms, parties, and flows added, removed or changed."""

    @extend_schema(summary="Compare two versions", parameters=[CompareQuerySerializer],
                   responses={200: ComparisonOutputSerializer, 400: {"description": "No such version to compare."},
                              404: {"description": "No such agreement or version visible to you."}})
    def get(self, request: AuthenticatedRequest, reference: str, number: int) -> Response:
        agreement = agreement_get_full(user=request.user, reference=reference)
        query = CompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        version = version_get(agreement=agreement, number=number)
        in_force = agreement.in_force_version
        to = query.validated_data.get("to") or (
            in_force.number if in_force is not None and in_force.number != number else number - 1)
        try:
            before = version_get(agreement=agreement, number=to)
        except Http404:
            raise serializers.ValidationError(
                {"to": [f"{agreement.reference} has no version {to} to compare with."]}) from None
        comparison = compare_versions(before, version, reference=agreement.reference)
        services.agreement_record_viewed(actor=request.user, agreement=agreement, page=f"compare-{number}-{to}")
        return Response(ComparisonOutputSerializer(comparison.as_dict()).data)


# --- comments ------------------------------------------------------------------------------------------------


def _version_or_404(agreement: Agreement, number: int) -> AgreementVersion:
    version = agreement.versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


@extend_schema_view(
    get=extend_schema(
        summary="A version's comments",
        description="The thread of one version, oldest first: comments and the comments sent with requests for "
                    "changes. For those who see the agreement's full record (others get 404).",
    ),
    post=extend_schema(
        summary="Comment on a version",
        request=CommentInputSerializer,
        responses={201: CommentOutputSerializer, 400: {"description": "No text, or too long."},
                   403: {"description": "Not a governance officer of a party to that version."},
                   404: {"description": "No such agreement or version visible to you."},
                   409: {"description": "The version or the agreement no longer takes comments: a past version "
                                        "(superseded, rejected or withdrawn), or an agreement that has ended."}},
        description="Governance officers of the parties to the version, on the current version or the one in "
                    "force, while the agreement has not ended. Audited (`agreement.commented`).",
    ),
)
class VersionCommentListApi(_AuditedListApi):
    serializer_class = CommentOutputSerializer

    def get_queryset(self) -> QuerySet[VersionComment]:
        self.agreement = agreement_get_full(user=self.request.user, reference=self.kwargs["reference"])
        version = _version_or_404(self.agreement, self.kwargs["number"])
        return version_comments(version=version).select_related("version")

    def record_listed(self, response: Response) -> None:
        services.agreement_record_viewed(actor=self.request.user, agreement=self.agreement,
                                         page=f"comments-{self.kwargs['number']}")

    def post(self, request: AuthenticatedRequest, reference: str, number: int) -> Response:
        agreement = agreement_get_full(user=request.user, reference=reference)
        _version_or_404(agreement, number)
        data = _valid(CommentInputSerializer(data=request.data))
        comment = services.comment_add(actor=request.user, agreement=agreement, number=number, text=data["text"],
                                       agency=data.get("agency"))
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)


# --- the check ----------------------------------------------------------------------------------------------


class CheckApi(APIView):
    """May `provider` share `dataset` with `recipient` (on a date)? Every check is audited."""

    @extend_schema(
        request=CheckInputSerializer,
        responses={200: CheckOutputSerializer},
        examples=[
            OpenApiExample(
                "A discharge summary",
                request_only=True,
                value={"provider": "mft", "recipient": "manchester-cc", "dataset": "mft-discharge-summaries"},
            )
        ],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = CheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        question = data.validated_data
        if not may_ask_check(user=request.user, provider=question["provider"], recipient=question["recipient"]):
            raise PermissionDenied(CHECK_REFUSED)
        try:
            decision = decisions.check(**question, asker=request.user)
        except decisions.UnknownCodes as exc:
            raise ValidationError(exc.errors) from exc
        return Response(check_response(decision), status=status.HTTP_200_OK)
