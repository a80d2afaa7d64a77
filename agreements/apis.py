"""The agreements API: legal bases, agreements and their lifecycle (docs/api.md).

Views parse input, call one selector or service, and render. Invisible agreements give 404 (the selectors),
actions not yours 403 and wrong-state actions 409 (the services).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.limits import (
    CODE_MAX,
    COMMENTS_MAX,
    DATA_ITEM_MAX,
    DATA_ITEMS_MAX,
    DPIA_REFERENCE_MAX,
    FLOWS_MAX,
    PURPOSE_MAX,
    REASON_MAX,
    RETENTION_MAX,
    REVIEW_NOTES_MAX,
    SEARCH_MAX,
    TITLE_MAX,
    api_text,
    too_many,
)

from . import services
from .canonical import version_digest
from .choices import AgreementStatus, Frequency, Method, VersionState
from .compare import compare_versions
from .models import Agreement, LegalBasis
from .rules import TermsInvalid, version_warnings
from .selectors import agreement_get, agreement_get_full, agreement_list, version_get
from .status import RegisterStatus, in_force_today, status_label


class LegalBasisOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalBasis
        fields = ["code", "title", "citation", "kind", "description", "guidance"]


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


# --- output --------------------------------------------------------------------------------------------------


class FlowOutputSerializer(serializers.Serializer):
    dataset = serializers.CharField()
    provider = serializers.CharField()
    recipient = serializers.CharField()
    purpose = serializers.CharField()
    legal_bases = serializers.ListField(child=serializers.CharField())
    data_items = serializers.ListField(child=serializers.CharField())
    method = serializers.ChoiceField(choices=Method.choices)
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    retention = serializers.CharField()


class PartyOutputSerializer(serializers.Serializer):
    agency = serializers.CharField()
    approved = serializers.BooleanField(required=False, help_text="Signed the version shown. Full record only.")
    approved_by = serializers.CharField(allow_null=True, required=False, help_text="The signer's username.")
    approved_by_name = serializers.CharField(allow_null=True, required=False,
                                             help_text="The signer's full name when they signed.")
    approved_by_job_title = serializers.CharField(allow_null=True, required=False,
                                                  help_text="The signer's job title when they signed.")
    approved_at = serializers.DateTimeField(allow_null=True, required=False)
    version_signed = serializers.IntegerField(
        allow_null=True, required=False, help_text="The latest version this agency signed (perhaps the one in force)."
    )


class AgreementOutputSerializer(serializers.Serializer):
    """An agreement. With `access: summary` (an active agreement of other agencies) only summary fields appear."""

    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=AgreementStatus.choices)
    status_label = serializers.CharField(
        help_text="The status in words as the pages show it: \"Signed: starts 1 April 2027\" for an active agreement "
                  "whose start date is still to come.")
    in_force_today = serializers.BooleanField(help_text="Active, and today within the signed version's dates.")
    access = serializers.ChoiceField(choices=[("full", "Full record"), ("summary", "Summary only")])
    title = serializers.CharField()
    purpose = serializers.CharField()
    lead_agency = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    review_date = serializers.DateField()
    legal_bases = serializers.ListField(child=serializers.CharField(), help_text="Every legal basis any flow cites.")
    parties = PartyOutputSerializer(many=True)
    version = serializers.IntegerField(required=False)
    version_state = serializers.ChoiceField(choices=VersionState.choices, required=False)
    in_force_version = serializers.IntegerField(allow_null=True, required=False)
    dpia_reference = serializers.CharField(required=False)
    flows = FlowOutputSerializer(many=True, required=False)
    created_by = serializers.CharField(required=False)
    warnings = serializers.ListField(child=serializers.CharField(), required=False)
    content_sha256 = serializers.CharField(
        required=False, help_text="The SHA-256 of the shown version's canonical content (docs/api.md), as printed "
                                  "on its PDF and printable page. Full record only.")

    def to_representation(self, agreement: Agreement) -> dict[str, Any]:
        return agreement_representation(agreement)


def agreement_representation(agreement: Agreement) -> dict[str, Any]:
    """The response body for one agreement loaded by a selector (which sets `full_view` and prefetches)."""
    full = bool(getattr(agreement, "full_view", False))
    version = agreement.current_version if full else agreement.in_force_version
    flows = list(version.flows.all())
    parties = list(version.parties.all())
    bases = [basis.code for basis in version.cited_legal_bases()]
    body: dict[str, Any] = {
        "reference": agreement.reference,
        "status": agreement.status,
        "status_label": status_label(agreement),
        "in_force_today": in_force_today(agreement),
        "access": "full" if full else "summary",
        "title": version.title,
        "purpose": version.purpose,
        "lead_agency": agreement.lead_agency.code,
        "start_date": version.start_date.isoformat(),
        "end_date": version.end_date.isoformat(),
        "review_date": version.review_date.isoformat(),
        "legal_bases": bases,
    }
    if not full:
        body["parties"] = [{"agency": p.agency.code} for p in parties]
        return body
    in_force = agreement.in_force_version
    signed_in_force = agreement.earlier_signatures(version)
    body["parties"] = [
        {
            "agency": p.agency.code,
            "approved": p.signed_at is not None,
            "approved_by": p.signed_by.get_username() if p.signed_by else None,
            "approved_by_name": p.signer_name if p.signed_at else None,
            "approved_by_job_title": p.signer_job_title if p.signed_at else None,
            "approved_at": p.signed_at.isoformat().replace("+00:00", "Z") if p.signed_at else None,
            "version_signed": version.number if p.signed_at
            else (in_force.number if p.agency_id in signed_in_force else None),
        }
        for p in parties
    ]
    body.update({
        "version": version.number,
        "version_state": version.state,
        "in_force_version": in_force.number if in_force else None,
        "dpia_reference": version.dpia_reference,
        "flows": [
            {
                "dataset": f.dataset.code, "provider": f.provider.code, "recipient": f.recipient.code,
                "purpose": f.purpose, "legal_bases": [b.code for b in f.legal_bases.all()],
                "data_items": list(f.data_items), "method": f.method, "frequency": f.frequency,
                "retention": f.retention,
            }
            for f in flows
        ],
        "warnings": version_warnings(version),
        "content_sha256": version_digest(agreement=agreement, version=version),
    })
    return body


# --- input ---------------------------------------------------------------------------------------------------


class FlowInputSerializer(serializers.Serializer):
    dataset = serializers.CharField(max_length=CODE_MAX, help_text="Dataset code; the provider must own it.")
    provider = serializers.CharField(max_length=CODE_MAX, help_text="Agency code.")
    recipient = serializers.CharField(max_length=CODE_MAX, help_text="Agency code.")
    purpose = api_text("flow's purpose", PURPOSE_MAX, required=False, allow_blank=True,
                       help_text="Defaults to the agreement's purpose.")
    legal_bases = serializers.ListField(child=serializers.CharField(max_length=CODE_MAX), allow_empty=True)
    data_items = serializers.ListField(
        child=api_text("name of each data item", DATA_ITEM_MAX), required=False, max_length=DATA_ITEMS_MAX,
        error_messages={"max_length": too_many("data items", DATA_ITEMS_MAX)},
        help_text="Defaults to every item of the dataset.",
    )
    method = serializers.ChoiceField(choices=Method.choices, required=False)
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False)
    retention = api_text("retention period", RETENTION_MAX, required=False, allow_blank=True)


class AgreementInputSerializer(serializers.Serializer):
    title = api_text("title", TITLE_MAX)
    purpose = api_text("purpose", PURPOSE_MAX)
    lead_agency = serializers.CharField(max_length=CODE_MAX)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    review_date = serializers.DateField()
    dpia_reference = api_text("DPIA reference", DPIA_REFERENCE_MAX, required=False, allow_blank=True)
    flows = FlowInputSerializer(many=True, allow_empty=True, max_length=FLOWS_MAX, help_text=f"At most {FLOWS_MAX}.")


class ReasonInputSerializer(serializers.Serializer):
    reason = api_text("reason", REASON_MAX, help_text="Why. Kept in the audit log.")


class RequestChangesInputSerializer(serializers.Serializer):
    agency = serializers.SlugField(required=False, max_length=64,
                                   help_text="The party you speak for, when you may speak for more than one.")
    comments = api_text("comments", COMMENTS_MAX, help_text="What needs to change. Every party reads it.")


class ReviewInputSerializer(serializers.Serializer):
    agency = serializers.SlugField(required=False, max_length=64,
                                   help_text="The party you confirm for, when you may confirm for more than one.")
    next_review_date = serializers.DateField(help_text="The next review: in the future, and not after the end date.")
    notes = api_text("notes", REVIEW_NOTES_MAX, required=False, allow_blank=True, default="",
                     help_text="Anything the other parties should know about this review.")


class ApproveInputSerializer(serializers.Serializer):
    agency = serializers.CharField(
        max_length=64, required=False,
        help_text="The party agency you sign for; needed only if you could sign for more than one.",
    )
    authorised_to_sign = serializers.BooleanField(
        required=False,
        help_text="Declare that you are authorised to sign for that agency; recorded with the signature. `false` is "
                  "refused; left out, no declaration is recorded.",
    )

    def validate_authorised_to_sign(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Sign only if you are authorised to sign for the agency.")
        return value


class AgreementFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=RegisterStatus.choices, required=False,
        help_text="A status; or `in_force` (active and today within its dates) or `not_started` (active, its start "
                  "date still to come).")
    agency = serializers.CharField(max_length=64, required=False, help_text="A party agency's code.")
    dataset = serializers.CharField(max_length=64, required=False, help_text="A dataset code in any flow.")
    legal_basis = serializers.CharField(max_length=64, required=False, help_text="A legal-basis code.")
    q = serializers.CharField(
        max_length=SEARCH_MAX, required=False, help_text="Words in the title or purpose, or a reference."
    )


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
    elif isinstance(flows, dict):
        errors["flows"] = [flows.get(str(i), flows.get(i, {})) for i in range(len(given))]
    raise serializers.ValidationError(errors)


def _terms(call):
    """Run a service call, turning broken rules into DRF field errors (400)."""
    try:
        return call()
    except TermsInvalid as exc:
        raise serializers.ValidationError(exc.errors) from exc


def _respond(request, agreement: Agreement, code: int = status.HTTP_200_OK) -> Response:
    fresh = agreement_get(user=request.user, reference=agreement.reference)
    return Response(agreement_representation(fresh), status=code)


# --- views ---------------------------------------------------------------------------------------------------


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
class AgreementListCreateApi(generics.ListAPIView):
    serializer_class = AgreementOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        filters = AgreementFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        self.filters = filters.validated_data
        return agreement_list(user=self.request.user, filters=self.filters)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        services.agreement_record_listed(actor=request.user, filters=self.filters, count=response.data["count"])
        return response

    def post(self, request):
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

    def get(self, request, reference: str):
        agreement = agreement_get(user=request.user, reference=reference)
        services.agreement_record_viewed(actor=request.user, agreement=agreement)
        return Response(agreement_representation(agreement))

    def patch(self, request, reference: str):
        agreement = agreement_get(user=request.user, reference=reference)
        data = _valid(AgreementInputSerializer(data=request.data, partial=True))
        agreement = _terms(lambda: services.agreement_update(actor=request.user, agreement=agreement, **data))
        return _respond(request, agreement)


class _ActionApi(APIView):
    """POST a lifecycle action on a visible agreement; the service decides 403 and 409."""

    input_serializer: type[serializers.Serializer] | None = None
    serializer_class = AgreementOutputSerializer
    created = False  # True when the action makes a new agreement (201)

    def act(self, *, actor: Any, agreement: Agreement, data: dict[str, Any]) -> Agreement:  # pragma: no cover
        raise NotImplementedError

    def post(self, request, reference: str):
        agreement = agreement_get(user=request.user, reference=reference)
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        agreement = _terms(lambda: self.act(actor=request.user, agreement=agreement, data=data))
        return _respond(request, agreement, status.HTTP_201_CREATED if self.created else status.HTTP_200_OK)


def _action_schema(summary: str, description: str, request: Any = None):
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
    def act(self, *, actor, agreement, data):
        return services.agreement_submit(actor=actor, agreement=agreement)


@_action_schema(
    "Sign for one party",
    "A governance officer signs the submitted version for one party agency; when every party has signed, the "
    "agreement is active. The officer who last edited the version cannot sign it for the lead agency.",
    ApproveInputSerializer,
)
class AgreementApproveApi(_ActionApi):
    input_serializer = ApproveInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_approve(actor=actor, agreement=agreement, agency=data.get("agency"),
                                          declared=data.get("authorised_to_sign", False))


@_action_schema("Reject", "Submitted → rejected (an amendment's rejection leaves the agreement in force).",
                ReasonInputSerializer)
class AgreementRejectApi(_ActionApi):
    input_serializer = ReasonInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_reject(actor=actor, agreement=agreement, reason=data["reason"])


@_action_schema("Suspend", "Active → suspended. Governance officers of any party.", ReasonInputSerializer)
class AgreementSuspendApi(_ActionApi):
    input_serializer = ReasonInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_suspend(actor=actor, agreement=agreement, reason=data["reason"])


@_action_schema("Reinstate", "Suspended → active. Governance officers of any party.", ReasonInputSerializer)
class AgreementReinstateApi(_ActionApi):
    input_serializer = ReasonInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_reinstate(actor=actor, agreement=agreement, reason=data["reason"])


@_action_schema("Revoke", "Active or suspended → revoked (final). Governance officers of any party.",
                ReasonInputSerializer)
class AgreementRevokeApi(_ActionApi):
    input_serializer = ReasonInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_revoke(actor=actor, agreement=agreement, reason=data["reason"])


@_action_schema(
    "Start an amendment",
    "Active agreements only: a new draft version copied from the one in force. The signed version stays in force "
    "until every party has signed the new one. Governance officers of the lead agency.",
)
class AgreementAmendApi(_ActionApi):
    def act(self, *, actor, agreement, data):
        return services.agreement_amend(actor=actor, agreement=agreement)


@_action_schema(
    "Withdraw to change it",
    "Awaiting signatures → draft, its signatures cleared. Governance officers of the lead agency.",
    ReasonInputSerializer,
)
class AgreementWithdrawApi(_ActionApi):
    input_serializer = ReasonInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_withdraw(actor=actor, agreement=agreement, reason=data["reason"])


@_action_schema(
    "Ask for changes",
    "Awaiting signatures → draft, its signatures cleared; the comments stay with the version, shown to every party. "
    "Governance officers of the parties to the version awaiting signature.",
    RequestChangesInputSerializer,
)
class AgreementRequestChangesApi(_ActionApi):
    input_serializer = RequestChangesInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_request_changes(actor=actor, agreement=agreement, comments=data["comments"],
                                                  agency=data.get("agency"))


@extend_schema_view(post=extend_schema(
    summary="Copy into a new draft",
    description="A new draft agreement (a new reference) with the terms of this one's latest version, in any state. "
                "Governance officers of the lead agency.",
    request=None,
    responses={201: AgreementOutputSerializer, 403: {"description": "The action is not yours."},
               404: {"description": "No such agreement visible to you."}},
))
class AgreementCopyApi(_ActionApi):
    created = True

    def act(self, *, actor, agreement, data):
        return services.agreement_copy(actor=actor, agreement=agreement)


@_action_schema(
    "Confirm the review",
    "A party confirms the review of the version in force with no changes, and proposes the next review date; "
    "nothing is signed again. Once every party of the version in force has confirmed, `review_date` becomes the "
    "earliest date proposed. Active or suspended agreements (409 otherwise, and for a second confirmation by the "
    "same party in one review). Governance officers of the parties of the version in force (403 otherwise).",
    ReviewInputSerializer,
)
class AgreementReviewApi(_ActionApi):
    input_serializer = ReviewInputSerializer

    def act(self, *, actor, agreement, data):
        return services.agreement_review(actor=actor, agreement=agreement, agency=data.get("agency"),
                                         next_review_date=data["next_review_date"], notes=data.get("notes", ""))


# --- versions ------------------------------------------------------------------------------------------------


class VersionOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    state = serializers.ChoiceField(choices=VersionState.choices)
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    in_force = serializers.BooleanField(help_text="This is the version every party signed and checks rely on.")


class VersionListApi(APIView):
    """Every version of an agreement, newest first. For those who see its full record (others get 404)."""

    @extend_schema(summary="The versions of an agreement", responses=VersionOutputSerializer(many=True))
    def get(self, request, reference: str):
        agreement = agreement_get_full(user=request.user, reference=reference)
        versions = agreement.versions.order_by("-number")
        for version in versions:
            version.in_force = version.pk == agreement.in_force_version_id
        services.agreement_record_viewed(actor=request.user, agreement=agreement, page="versions")
        return Response(VersionOutputSerializer(versions, many=True).data)


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class FlowChangeSerializer(serializers.Serializer):
    dataset = serializers.CharField()
    provider = serializers.CharField()
    recipient = serializers.CharField()
    change = serializers.ChoiceField(choices=[("added", "added"), ("removed", "removed"), ("changed", "changed")])
    fields = FieldChangeSerializer(many=True)


class ComparisonOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    version = serializers.IntegerField()
    to = serializers.IntegerField(help_text="The version it is compared with.")
    terms = FieldChangeSerializer(many=True)
    parties_added = serializers.ListField(child=serializers.CharField())
    parties_removed = serializers.ListField(child=serializers.CharField())
    flows = FlowChangeSerializer(many=True)


class CompareQuerySerializer(serializers.Serializer):
    to = serializers.IntegerField(required=False, min_value=1, max_value=100_000,
                                  help_text="The version to compare with: by default the one in force, or the one "
                                            "before.")


class VersionCompareApi(APIView):
    """What changed in version `number` from version `to`: terms, parties, and flows added, removed or changed."""

    @extend_schema(summary="Compare two versions", parameters=[CompareQuerySerializer],
                   responses={200: ComparisonOutputSerializer, 400: {"description": "No such version to compare."},
                              404: {"description": "No such agreement or version visible to you."}})
    def get(self, request, reference: str, number: int):
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
