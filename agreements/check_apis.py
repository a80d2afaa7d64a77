"""POST /api/v1/checks/: the frontline question, for other systems."""

import datetime as dt
import re

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from . import decisions

EARLIEST_CHECK = dt.date(2000, 1, 1)
LATEST_CHECK = dt.date(2100, 12, 31)


class CheckInputSerializer(serializers.Serializer):
    provider = serializers.SlugField(max_length=64, help_text="Code of the agency that holds the data.")
    recipient = serializers.SlugField(max_length=64, help_text="Code of the agency that would receive it.")
    dataset = serializers.SlugField(max_length=64)
    purpose = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    on = serializers.DateField(required=False, help_text="The date the sharing would happen. Defaults to today.")
    data_items = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=200,
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


class CheckOutputSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(help_text="Plain English, naming the agreement and the legal bases.")
    next_step = serializers.CharField()
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
    warnings = serializers.ListField(child=serializers.CharField())
    outcome = serializers.CharField()
    on = serializers.DateField()
    checked_at = serializers.DateTimeField(default_timezone=dt.UTC)
    event = serializers.IntegerField(help_text="The seq of the audit event that records this check.")

    def get_legal_bases(self, decision) -> list[str]:
        return [basis.code for basis in decision.legal_bases]


_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REFUSED_CHARACTERS = re.compile("[\x00\ud800-\udfff]")  # DRF's CharField refuses NUL and surrogates


def _plain_text(value) -> bool:
    return type(value) is str and not _REFUSED_CHARACTERS.search(value)


def fast_question(data) -> dict | None:
    """CheckInputSerializer's validated data for a plainly well-formed question, without instantiating it (a deep
    copy of its fields per request). Anything it is not sure of gives None, and the serializer decides (and words
    any error). tests/agreements/test_checks_api.py holds the two to the same answers."""
    if not isinstance(data, dict):
        return None
    question: dict = {}
    for name in ("provider", "recipient", "dataset"):
        value = data.get(name)
        if type(value) is not str:
            return None
        value = value.strip()
        if not value or len(value) > 64 or not _SLUG.match(value):
            return None
        question[name] = value
    purpose = data.get("purpose", "")
    if not _plain_text(purpose) or len(purpose.strip()) > 1000:
        return None
    question["purpose"] = purpose.strip()
    if "on" in data:
        on = data["on"]
        if type(on) is not str or not _ISO_DAY.match(on):
            return None
        try:
            day = dt.date.fromisoformat(on)
        except ValueError:
            return None
        if not EARLIEST_CHECK <= day <= LATEST_CHECK:
            return None
        question["on"] = day
    if "data_items" in data:
        items = data["data_items"]
        if type(items) is not list or len(items) > 200:
            return None
        cleaned = []
        for item in items:
            if not _plain_text(item) or not item.strip() or len(item.strip()) > 200:
                return None
            cleaned.append(item.strip())
        question["data_items"] = cleaned
    return question


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
        "agreement": _text(decision.agreement),
        "agreement_title": _text(decision.agreement_title),
        "version": None if decision.version is None else int(decision.version),
        "legal_bases": [basis.code for basis in decision.legal_bases],
        "legal_basis_details": [
            {"code": str(b.code), "citation": str(b.citation), "title": str(b.title), "description": str(b.description)}
            for b in decision.legal_bases
        ],
        "purposes": [_text(item) for item in decision.purposes],
        "data_items": [_text(item) for item in decision.data_items],
        "method": _text(decision.method),
        "frequency": _text(decision.frequency),
        "retention": _text(decision.retention),
        "contact": _text(decision.contact),
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
        question = fast_question(request.data)
        if question is None:
            data = CheckInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            question = data.validated_data
        if not decisions.caller_may_check(
            user=request.user, provider=question["provider"], recipient=question["recipient"]
        ):
            raise PermissionDenied(
                "You can check sharing only for an agency you belong to (as the provider or the recipient)."
            )
        try:
            decision = decisions.check(**question)
        except decisions.UnknownCodes as exc:
            raise ValidationError(exc.errors) from exc
        return Response(check_response(decision), status=status.HTTP_200_OK)
