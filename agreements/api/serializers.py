"""The agreements API's serializers: what each endpoint takes and gives (docs/api.md), and the check's.

The views in api/views.py parse with these and render through them."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from functools import cached_property
from operator import attrgetter
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from accounts.selectors import display_name
from common.limits import (
    CODE_MAX,
    COMMENTS_MAX,
    DATA_ITEM_MAX,
    DATA_ITEMS_MAX,
    DPIA_REFERENCE_MAX,
    FLOWS_MAX,
    PURPOSE_MAX,
    QUESTION_PURPOSE_MAX,
    REASON_MAX,
    RETENTION_MAX,
    REVIEW_NOTES_MAX,
    SEARCH_MAX,
    TITLE_MAX,
    api_text,
    too_many,
)

from ..canonical import version_digest
from ..choices import AgreementStatus, CommentKind, Frequency, Method, VersionState
from ..decisions import Decision
from ..models import Agreement, Flow, LegalBasis, Party, VersionComment
from ..rules import version_warnings
from ..services import COMMENT_MISSING
from ..status import RegisterStatus, in_force_today, status_label

# --- legal bases and agreements ----------------------------------------------------------------------


class LegalBasisOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalBasis
        fields = ["code", "title", "citation", "kind", "description", "guidance"]


# --- output --------------------------------------------------------------------------------------------------


class CodeField(serializers.CharField):
    """A legal basis shown by its code (a string in the schema, as a CharField is)."""

    def to_representation(self, value: LegalBasis) -> str:  # type: ignore[override]  # a LegalBasis, not a str
        return value.code


class FlowLegalBasesField(serializers.ListField):
    """A flow's legal bases by code, in the catalogue's order: `Flow.basis_list()` is a method, which a source of
    RowSerializer's does not call (and DRF's would call only after inspecting its signature, on every flow)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=CodeField(), source="*", **kwargs)

    def to_representation(self, flow: Flow) -> list[str]:  # type: ignore[override]
        return [basis.code for basis in flow.basis_list()]


# Renders its declared fields as DRF's Serializer does, but reads each field's `source` with a getter made once per
# serializer (operator.attrgetter) rather than DRF's get_attribute, which tests every step of every source for a
# mapping and a callable. A register page of 50 agreements renders about 3,000 fields: measured on the benchmark
# register (sr_bench), DRF's reading took the page from 8.7 to 11.0 ms of CPU. So sources here name attributes and
# properties, never methods. As in DRF, a step that is None gives null where the field allows null, or leaves out
# a field that is not required. (A comment, not a docstring: drf-spectacular would describe every subclass with it.)
class RowSerializer(serializers.Serializer):

    @cached_property
    def _readers(self) -> list[tuple[str, serializers.Field, Callable[[Any], Any]]]:
        return [(name, field, attrgetter(".".join(field.source_attrs)) if field.source_attrs else _itself)
                for name, field in self.fields.items() if not field.write_only]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, field, read in self._readers:
            try:
                value = read(instance)
            except AttributeError:
                if field.allow_null:
                    value = None
                elif not field.required:
                    continue
                else:
                    raise
            body[name] = None if value is None else field.to_representation(value)
        return body


def _itself(instance: Any) -> Any:
    return instance


class ShownAgreement:
    """An agreement as its body shows it (docs/api.md): the full record shows the current version, the summary the
    version in force. The fields read the agreement and that version by `source`; what they derive from several
    objects is worked out here, once per agreement. The agreement comes from a selector, which sets `full_view` and
    loads the terms of both versions (`load_terms`), so nothing here queries."""

    def __init__(self, agreement: Agreement, today: dt.date | None = None) -> None:
        self.agreement, self.today = agreement, today
        self.full = bool(getattr(agreement, "full_view", False))  # the selectors' annotation
        self.version = agreement.current_version if self.full else agreement.version_in_force()
        self.access = "full" if self.full else "summary"

    @property
    def status_label(self) -> str:
        return status_label(self.agreement, self.today)

    @property
    def in_force_today(self) -> bool:
        return in_force_today(self.agreement, self.today)

    @property
    def legal_bases(self) -> list[LegalBasis]:
        return self.version.cited_legal_bases()

    @property
    def parties(self) -> list[ShownParty]:
        return [ShownParty(party, self) for party in self.version.party_list()]

    @property
    def flows(self) -> list[Flow]:
        return self.version.flow_list()

    @cached_property
    def signed_in_force(self) -> dict[int, Party]:
        """Each agency's signature on the version in force, when the version shown is another (an amendment)."""
        return self.agreement.earlier_signatures(self.version)

    @property
    def warnings(self) -> list[str]:
        return version_warnings(self.version)

    @property
    def content_sha256(self) -> str:
        return version_digest(agreement=self.agreement, version=self.version)


class ShownParty:
    """A party of the version shown, and the latest version its agency signed (perhaps the one in force)."""

    __slots__ = ("party", "shown")

    def __init__(self, party: Party, shown: ShownAgreement) -> None:
        self.party, self.shown = party, shown

    @property
    def approved(self) -> bool:
        return self.party.signed_at is not None

    @property
    def approved_by(self) -> str | None:
        """The signer's username: as the selectors load it (`signer_username`), or read from the signer."""
        party = self.party
        if party.signed_by_id is None:
            return None
        loaded: str | None = getattr(party, "signer_username", None)
        return loaded if loaded is not None or party.signed_by is None else party.signed_by.get_username()

    @property
    def approved_by_name(self) -> str | None:
        return self.party.signer_name if self.party.signed_at else None

    @property
    def approved_by_job_title(self) -> str | None:
        return self.party.signer_job_title if self.party.signed_at else None

    @property
    def version_signed(self) -> int | None:
        if self.party.signed_at:
            return self.shown.version.number
        in_force = self.shown.agreement.in_force_version
        return in_force.number if in_force is not None and self.party.agency_id in self.shown.signed_in_force else None


class FlowOutputSerializer(RowSerializer):
    dataset = serializers.CharField(source="dataset.code")
    provider = serializers.CharField(source="provider.code")
    recipient = serializers.CharField(source="recipient.code")
    purpose = serializers.CharField()
    legal_bases = FlowLegalBasesField()
    data_items = serializers.ListField(child=serializers.CharField())
    method = serializers.ChoiceField(choices=Method.choices)
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    retention = serializers.CharField()


# A party in the summary: its agency alone. (No docstring: drf-spectacular would give it to PartyOutput too.)
class PartySummarySerializer(RowSerializer):
    agency = serializers.CharField(source="party.agency.code")


class PartyOutputSerializer(PartySummarySerializer):
    approved = serializers.BooleanField(required=False, help_text="Signed the version shown. Full record only.")
    approved_by = serializers.CharField(allow_null=True, required=False, help_text="The signer's username.")
    approved_by_name = serializers.CharField(allow_null=True, required=False,
                                             help_text="The signer's full name when they signed.")
    approved_by_job_title = serializers.CharField(allow_null=True, required=False,
                                                  help_text="The signer's job title when they signed.")
    # In UTC ("...Z"), as the signature's time is stored, whatever the server's time zone.
    approved_at = serializers.DateTimeField(source="party.signed_at", allow_null=True, required=False,
                                            default_timezone=dt.UTC)
    version_signed = serializers.IntegerField(
        allow_null=True, required=False, help_text="The latest version this agency signed (perhaps the one in force)."
    )


class AgreementSummarySerializer(RowSerializer):
    """An agreement with `access: summary`: what an active agreement of other agencies shows, from its version in
    force. AgreementOutputSerializer renders these rows through it."""

    reference = serializers.CharField(source="agreement.reference")
    status = serializers.ChoiceField(choices=AgreementStatus.choices, source="agreement.status")
    status_label = serializers.CharField(
        help_text="The status in words as the pages show it: \"Signed: starts 1 April 2027\" for an active agreement "
                  "whose start date is still to come.")
    in_force_today = serializers.BooleanField(help_text="Active, and today within the signed version's dates.")
    access = serializers.ChoiceField(choices=[("full", "Full record"), ("summary", "Summary only")])
    title = serializers.CharField(source="version.title")
    purpose = serializers.CharField(source="version.purpose")
    lead_agency = serializers.CharField(source="agreement.lead_agency.code")
    start_date = serializers.DateField(source="version.start_date")
    end_date = serializers.DateField(source="version.end_date")
    review_date = serializers.DateField(source="version.review_date")
    legal_bases = serializers.ListField(child=CodeField(), help_text="Every legal basis any flow cites.")
    parties = PartySummarySerializer(many=True)

    @cached_property
    def today(self) -> dt.date:
        """Today, once for a page of agreements rather than once for each."""
        return timezone.localdate()

    def shown(self, instance: Agreement | ShownAgreement) -> ShownAgreement:
        return instance if isinstance(instance, ShownAgreement) else ShownAgreement(instance, self.today)

    def to_representation(self, instance: Agreement | ShownAgreement) -> dict[str, Any]:
        return super().to_representation(self.shown(instance))


class AgreementOutputSerializer(AgreementSummarySerializer):
    """An agreement. With `access: summary` (an active agreement of other agencies) only summary fields appear."""

    parties = PartyOutputSerializer(many=True)
    version = serializers.IntegerField(source="version.number", required=False)
    version_state = serializers.ChoiceField(choices=VersionState.choices, source="version.state", required=False)
    in_force_version = serializers.IntegerField(source="agreement.in_force_version.number", allow_null=True,
                                                required=False)
    dpia_reference = serializers.CharField(source="version.dpia_reference", required=False)
    flows = FlowOutputSerializer(many=True, required=False)
    warnings = serializers.ListField(child=serializers.CharField(), required=False)
    content_sha256 = serializers.CharField(
        required=False, help_text="The SHA-256 of the shown version's canonical content (docs/api.md), as printed "
                                  "on its PDF and printable page. Full record only.")

    @cached_property
    def summary(self) -> AgreementSummarySerializer:
        return AgreementSummarySerializer(context=self.context)

    def to_representation(self, instance: Agreement | ShownAgreement) -> dict[str, Any]:
        shown = self.shown(instance)
        return super().to_representation(shown) if shown.full else self.summary.to_representation(shown)


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
    # many=True hands max_length to the ListSerializer, which takes it; the stubs do not list it.
    flows = FlowInputSerializer(many=True, allow_empty=True, max_length=FLOWS_MAX,  # type: ignore[call-arg]
                                help_text=f"At most {FLOWS_MAX}.")


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


# --- versions ------------------------------------------------------------------------------------------------


class VersionOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    state = serializers.ChoiceField(choices=VersionState.choices)
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    in_force = serializers.BooleanField(help_text="This is the version every party signed and checks rely on.")


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class FlowChangeSerializer(serializers.Serializer):
    dataset = serializers.CharField()
    provider = serializers.CharField()
    recipient = serializers.CharField()
    change = serializers.ChoiceField(choices=[("added", "added"), ("removed", "removed"), ("changed", "changed")])
    # DRF's metaclass takes declared fields off the class, so this does not hide Serializer.fields.
    fields = FieldChangeSerializer(many=True)  # type: ignore[assignment]


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


# --- the check ----------------------------------------------------------------------------------------------

EARLIEST_CHECK = dt.date(2000, 1, 1)
LATEST_CHECK = dt.date(2100, 12, 31)


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarDateField(serializers.DateField):
    """A YYYY-MM-DD date; a well-formed day that does not exist (30 February) is called that, not a bad format."""

    def to_internal_value(self, value: Any) -> dt.date:
        if isinstance(value, str) and ISO_DAY.fullmatch(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise serializers.ValidationError(
                    f"There is no such date as {value.strip()}: check the day and the month."
                ) from None
        return super().to_internal_value(value)


_FIELD_PROTOTYPES: dict[type, dict[str, serializers.Field]] = {}  # by serializer class: see get_fields below


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

    def get_fields(self) -> dict[str, serializers.Field]:
        """This serializer's fields, each a shallow copy of one set of fields that DRF's own `get_fields()` made once
        for the class. DRF deep-copies every declared field for each serializer it makes (re-running each field's
        constructor), so that code may change one instance's fields without touching the class's: here nothing
        changes a field after it is made, and the deep copy cost two thirds of validating a question on the
        product's busiest endpoint (130 of 190 µs; 30 µs copied shallowly). Each copy is still bound to this
        serializer alone; what the copies share (validators, error messages, the data items' child field) is never
        changed after construction. tests/agreements/test_check_attacks.py holds the answers,
        and every refusal, to a deep-copying serializer's, under threads too."""
        prototypes = _FIELD_PROTOTYPES.get(type(self))
        if prototypes is None:
            prototypes = _FIELD_PROTOTYPES.setdefault(type(self), super().get_fields())
        return {name: copy.copy(field) for name, field in prototypes.items()}

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

    def get_legal_bases(self, decision: Decision) -> list[str]:
        return [basis.code for basis in decision.legal_bases]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def check_response(decision: Decision) -> dict[str, Any]:
    """The body CheckOutputSerializer describes, built directly: the one API body not produced by its serializer,
    on evidence. The check is the product's hottest endpoint, and instantiating a twenty-field DRF serializer (a deep
    copy of every declared field) cost more than the decision: measured, 37 µs built here against 3.9 ms through
    CheckOutputSerializer when this was written (bench.check_http's profile), and 5 µs against 0.46 ms of CPU
    measured again in-process on 7 December 2026. tests/agreements/api/test_check.py holds the two to the same
    output."""
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


# --- comments ------------------------------------------------------------------------------------------------


class CommentInputSerializer(serializers.Serializer):
    agency = serializers.SlugField(required=False, max_length=64,
                                   help_text="The party you speak for, when you may speak for more than one.")
    text = api_text("comment", COMMENTS_MAX, help_text="The comment. Every party to the agreement reads it.",
                    error_messages={"blank": COMMENT_MISSING, "required": COMMENT_MISSING})


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version.number")
    kind = serializers.ChoiceField(choices=CommentKind.choices,
                                   help_text="`comment`, or `changes_requested` for the comments sent with a request "
                                             "for changes.")
    agency = serializers.CharField(source="agency.code", help_text="The party the author spoke for.")
    agency_name = serializers.CharField(source="agency.name")
    author = serializers.CharField(source="author.username")
    author_name = serializers.SerializerMethodField(help_text="The author's full name.")
    text = serializers.CharField(source="body")
    created_at = serializers.DateTimeField()

    def get_author_name(self, comment: VersionComment) -> str:
        return display_name(comment.author)
