"""POST /api/v1/checks/: the frontline question, for other systems."""

import datetime as dt
import re

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from common.limits import DATA_ITEM_MAX, DATA_ITEMS_MAX, QUESTION_PURPOSE_MAX, api_text, too_many

from . import decisions
from .selectors import CHECK_REFUSED, may_ask_check

EARLIEST_CHECK = dt.date(2000, 1, 1)
LATEST_CHECK = dt.date(2100, 12, 31)


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarDateField(serializers.DateField):
    """A YYYY-MM-DD date; a well-formed day that does not exist (30 February) is called that, not a bad format."""

    def to_internal_value(self, value):
        if isinstance(value, str) and ISO_DAY.fullmatch(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise serializers.ValidationError(
                    f"There is no such date as {value.strip()}: check the day and the month."
                ) from None
        return super().to_internal_value(value)


class CheckInputSerializer(serializers.Serializer):
    provider = serializers.SlugField(max_length=64, help_text="Code of the agency that holds the data.")
    recipient = serializers.SlugField(max_length=64, help_text="Code of the agency that would receive it.")
    dataset = serializers.SlugField(max_length=64)
    purpose = api_text("purpose", QUESTION_PURPOSE_MAX, required=False, allow_blank=True, default="")
    on = CalendarDateField(required=False, help_text="The date the sharing would happen. Defaults to today.")
    data_items = serializers.ListField(
        child=api_text("name of each data item", DATA_ITEM_MAX), required=False, max_length=DATA_ITEMS_MAX,
        error_messages={"max_length": too_many("data items", DATA_ITEMS_MAX)},
        help_text="The items you want to share; the answer says whether the agreement covers them all.",
    )

    def validate_on(self, value: dt.date) -> dt.date:
        if not EARLIEST_CHECK <= value <= LATEST_CHECK:
            raise serializers.ValidationError(
                f"Give a date between {EARLIEST_CHECK:%d/%m/%Y} and {LATEST_CHECK:%d/%m/%Y}."
            )
        return value


class LegalBasisBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    citation = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    guidance = serializers.CharField(help_text="What to do next when sharing under this basis, in one plain line.")


class ProviderContactsSerializer(serializers.Serializer):
    agency = serializers.CharField(help_text="The provider's code.")
    name = serializers.CharField(help_text="The provider's name.")
    dpo_name = serializers.CharField(allow_null=True, help_text="The name of the provider's Data Protection Officer.")
    dpo_email = serializers.CharField(allow_null=True, help_text="The provider's Data Protection Officer's email.")
    caldicott_guardian = serializers.CharField(allow_null=True,
                                               help_text="The name of the provider's Caldicott Guardian.")


class CheckOutputSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(help_text="Plain English, naming the agreement and the legal bases.")
    next_step = serializers.CharField(help_text="What to do next, in one paragraph: `next_steps` joined.")
    next_steps = serializers.ListField(
        child=serializers.CharField(),
        help_text="What to do next, one step a line, in order: for a yes, what each legal basis asks first "
                  "(consent before anything else), then how to share.")
    agreement = serializers.CharField(allow_null=True)
    agreement_title = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    legal_bases = serializers.SerializerMethodField()
    legal_basis_details = LegalBasisBriefSerializer(source="legal_bases", many=True)
    purposes = serializers.ListField(child=serializers.CharField())
    data_items = serializers.ListField(child=serializers.CharField())
    method = serializers.CharField(allow_null=True)
    frequency = serializers.CharField(allow_null=True)
    retention = serializers.CharField(allow_null=True)
    contact = serializers.CharField(allow_null=True, help_text="The provider's Data Protection Officer.")
    provider_contacts = ProviderContactsSerializer(
        allow_null=True, help_text="Who at the provider answers questions, as its record holds them.")
    suspension_reason = serializers.CharField(
        allow_null=True, help_text="When the answer is no because the agreement is suspended: the reason given, for "
                                   "askers who see the agreement in full; otherwise null.")
    warnings = serializers.ListField(child=serializers.CharField())
    outcome = serializers.CharField()
    on = serializers.DateField()
    checked_at = serializers.DateTimeField(default_timezone=dt.UTC)
    event = serializers.IntegerField(help_text="The seq of the audit event that records this check.")

    def get_legal_bases(self, decision) -> list[str]:
        return [basis.code for basis in decision.legal_bases]


def _text(value) -> str | None:
    return None if value is None else str(value)


def check_response(decision) -> dict:
    """The body CheckOutputSerializer describes, built directly: the check is the product's hottest endpoint, and
    instantiating a twenty-field DRF serializer (a deep copy of every declared field) cost more than the decision.
    tests/agreements/test_checks_api.py holds the two to the same output."""
    checked_at = decision.checked_at.astimezone(dt.UTC).isoformat() if decision.checked_at else None
    if checked_at and checked_at.endswith("+00:00"):
        checked_at = checked_at[:-6] + "Z"
    return {
        "allowed": bool(decision.allowed),
        "reason": _text(decision.reason),
        "next_step": _text(decision.next_step),
        "next_steps": [_text(step) for step in decision.next_steps],
        "agreement": _text(decision.agreement),
        "agreement_title": _text(decision.agreement_title),
        "version": None if decision.version is None else int(decision.version),
        "legal_bases": [basis.code for basis in decision.legal_bases],
        "legal_basis_details": [
            {"code": str(b.code), "citation": str(b.citation), "title": str(b.title), "description": str(b.description),
             "guidance": str(b.guidance)}
            for b in decision.legal_bases
        ],
        "purposes": [_text(item) for item in decision.purposes],
        "data_items": [_text(item) for item in decision.data_items],
        "method": _text(decision.method),
        "frequency": _text(decision.frequency),
        "retention": _text(decision.retention),
        "contact": _text(decision.contact),
        "provider_contacts": decision.provider_contacts,
        "suspension_reason": _text(decision.suspension_reason),
        "warnings": [_text(item) for item in decision.warnings],
        "outcome": _text(decision.outcome),
        "on": decision.on.isoformat() if decision.on else None,
        "checked_at": checked_at,
        "event": None if decision.event is None else int(decision.event),
    }


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
    def post(self, request):
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
