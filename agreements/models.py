from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase

from agencies.models import Agency, Dataset

from .choices import (
    AgreementStatus,
    CommentKind,
    Frequency,
    LegalBasisKind,
    Method,
    PeriodEndReason,
    PeriodState,
    VersionState,
)


class LegalBasis(models.Model):
    """A lawful basis, condition or statutory gateway, described in plain English. Loaded by a data migration."""

    code = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    citation = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=LegalBasisKind.choices)
    description = models.TextField(help_text="Plain English, for a frontline worker.")
    guidance = models.TextField(blank=True, default="",
                                help_text="What to do next when a check's yes rests on this basis: one plain-English "
                                          "line for a frontline worker.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name_plural = "legal bases"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=LegalBasisKind.values), name="basis_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.citation}: {self.title}"


class ReferenceCounter(models.Model):
    """The last agreement number issued in a year, so that references are never reused."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Agreement(models.Model):
    """An information-sharing agreement: a stable reference and lifecycle over signed versions of its terms.

    `current_version` is the latest version (perhaps a draft amendment); `in_force_version` is the
    version every party signed and that checks rely on while the agreement is active.
    """

    reference = models.CharField(max_length=32, unique=True)
    lead_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="led_agreements")
    status = models.CharField(max_length=16, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT)
    # Typed as never None: agreement_create sets it in the transaction that inserts the agreement, so it is
    # null only between those two inserts, never in a committed row.
    current_version: models.ForeignKey[AgreementVersion | None, AgreementVersion] = models.ForeignKey(  # type: ignore[misc]
        "AgreementVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    in_force_version = models.ForeignKey(
        "AgreementVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    suspended_by = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="While suspended: the agency whose officer suspended it, which alone may reinstate it.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AgreementStatus.values), name="agreement_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="agreement_status_created"),
            # The register's order: its first page is read from here and stops after one page.
            models.Index(fields=["-created_at", "-id"], name="agreement_register_order"),
        ]

    def __str__(self) -> str:
        return self.reference

    def version_in_force(self) -> AgreementVersion:
        """`in_force_version`, where the lifecycle guarantees there is one (active, suspended, under review)."""
        if self.in_force_version is None:
            raise ValueError(f"{self.reference} has no version in force")
        return self.in_force_version

    def earlier_signatures(self, version: AgreementVersion) -> dict[int, Party]:
        """For a version that is not the one in force (an amendment): each agency's signature on the version in
        force, by agency id. Empty for the version in force itself (reads loaded parties)."""
        in_force = self.in_force_version
        if in_force is None or in_force == version:
            return {}
        return {p.agency_id: p for p in in_force.party_list() if p.signed_at}


class AgreementVersion(models.Model):
    """One version of an agreement's terms. A signature binds to a version; amending makes a new one."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=VersionState.choices, default=VersionState.DRAFT)
    title = models.CharField(max_length=200)
    purpose = models.TextField()
    start_date = models.DateField()
    end_date = models.DateField()
    review_date = models.DateField()
    dpia_reference = models.CharField("DPIA reference", max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    returned_terms = models.JSONField(
        null=True, blank=True,
        help_text="The terms as last sent for signature, kept when the version came back to draft (changes asked "
                  "for, or withdrawn): what its signatories see the changes from (agreements/canonical.py).",
    )
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agreement", "number"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "number"], name="version_number_unique"),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="version_end_after_start"
            ),
            models.CheckConstraint(condition=models.Q(state__in=VersionState.values), name="version_state_valid"),
        ]
        indexes = [
            models.Index(fields=["review_date"], name="version_review_date"),
            models.Index(fields=["end_date"], name="version_end_date"),  # the daily expiry sweep
            # The dashboard: "awaiting signature" oldest first, and a governance officer's latest drafts.
            models.Index(fields=["submitted_at", "id"], condition=models.Q(state="submitted"),
                         name="version_awaiting_order"),
            models.Index(fields=["last_edited_by", "-updated_at", "-id"], condition=models.Q(state="draft"),
                         name="version_drafts_by_editor"),
            # "Waiting for you": the drafts to send, newest first, read in that order until ten are the officer's.
            models.Index(fields=["-updated_at"], condition=models.Q(state="draft"), name="version_drafts_order"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.reference} v{self.number}"

    # Not columns: the version's parties and flows as a selector loaded them (agreements.selectors.load_terms, a
    # Prefetch to_attr, which gives a list rather than a queryset made for each version of a page).
    loaded_parties: list[Party]
    loaded_flows: list[Flow]

    def party_list(self) -> list[Party]:
        """Its parties in their order: those a selector loaded (`loaded_parties`), else `parties.all()`."""
        loaded = getattr(self, "loaded_parties", None)
        return list(self.parties.all()) if loaded is None else loaded

    def flow_list(self) -> list[Flow]:
        """Its flows in their order: those a selector loaded (`loaded_flows`), else `flows.all()`."""
        loaded = getattr(self, "loaded_flows", None)
        return list(self.flows.all()) if loaded is None else loaded

    def cited_legal_bases(self) -> list[LegalBasis]:
        """Every legal basis any of its flows cites, once each, in the order first cited (reads loaded flows)."""
        bases: dict[str, LegalBasis] = {}
        for flow in self.flow_list():
            for basis in flow.basis_list():
                bases.setdefault(basis.code, basis)
        return list(bases.values())


class Party(models.Model):
    """An agency that is party to one version, and its signature of that version."""

    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="parties")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="parties")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    # Who signed, as they were when they signed: a later change of name or job title leaves the signature as given.
    signer_name = models.CharField(max_length=200, blank=True)
    signer_job_title = models.CharField(max_length=200, blank=True)
    signer_declared = models.BooleanField(
        default=False, help_text="The signer declared they are authorised to sign for the agency.")

    class Meta:
        ordering = ["version", "agency__name"]
        verbose_name_plural = "parties"
        constraints = [
            models.UniqueConstraint(fields=["version", "agency"], name="party_unique"),
            models.CheckConstraint(
                condition=models.Q(signed_by__isnull=True, signed_at__isnull=True)
                | models.Q(signed_by__isnull=False, signed_at__isnull=False),
                name="party_signature_whole",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "version"], name="party_agency_version"),
            # An agency's signatures still to give (the dashboard), without visiting its signed parties.
            models.Index(fields=["agency", "version"], condition=models.Q(signed_at__isnull=True),
                         name="party_unsigned"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.code} on {self.version}"


class Flow(models.Model):
    """One dataset going one way, from a provider to a recipient, for a purpose, under named legal bases."""

    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="flows")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="flows")
    provider = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="flows_provided")
    recipient = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="flows_received")
    purpose = models.TextField()
    legal_bases = models.ManyToManyField(LegalBasis, related_name="flows")
    data_items = models.JSONField(default=list, blank=True, help_text="A subset of the dataset's items.")
    method = models.CharField(max_length=32, choices=Method.choices, default=Method.SECURE_EMAIL)
    frequency = models.CharField(max_length=32, choices=Frequency.choices, default=Frequency.AS_NEEDED)
    retention = models.CharField(max_length=200, blank=True, help_text="How long the recipient keeps it.")

    # Not columns: set on the rows that the check's query (agreements.decisions) and the register's loader
    # (agreements.selectors.load_terms) read, in the same query as the flow.
    period_state: str | None
    last_ended_at: datetime | None
    first_started_at: datetime | None
    period_reason: str | None
    bases: list[Any]
    loaded_bases: list[LegalBasis] | None
    asker_grant: bool  # the check's asker holds a view grant on the flow's agreement

    class Meta:
        ordering = ["version", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(provider=models.F("recipient")), name="flow_two_agencies"),
            models.UniqueConstraint(fields=["version", "dataset", "provider", "recipient"], name="flow_unique"),
        ]
        indexes = [models.Index(fields=["provider", "recipient", "dataset"], name="flow_lookup")]

    def __str__(self) -> str:
        return f"{self.dataset.code}: {self.provider.code} → {self.recipient.code}"

    def basis_list(self) -> list[LegalBasis]:
        """The flow's legal bases in the catalogue's order: those a selector loaded with the flow in the same query
        (`loaded_bases`, see agreements.selectors.load_terms), else `legal_bases.all()` (prefetch it)."""
        loaded = getattr(self, "loaded_bases", None)
        return list(self.legal_bases.all()) if loaded is None else loaded


class AgreementPeriod(models.Model):
    """A span of time in which a version was in force or suspended, so a check can ask about any date."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="periods")
    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="periods")
    state = models.CharField(max_length=16, choices=PeriodState.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True, choices=PeriodEndReason.choices)
    reason = models.TextField(blank=True, default="",
                              help_text="Why the period began, as the officer gave it: a suspension's reason, which a "
                                        "check quotes to those who may see the agreement.")

    class Meta:
        ordering = ["agreement", "started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="period_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["agreement"], condition=models.Q(ended_at__isnull=True), name="period_one_open"
            ),
            models.CheckConstraint(
                condition=models.Q(end_reason__in=["", *PeriodEndReason.values]), name="period_end_reason_known"
            ),
        ]
        indexes = [models.Index(fields=["version", "started_at"], name="period_version_started")]

    def __str__(self) -> str:
        return f"{self.agreement_id} {self.state} from {self.started_at:%Y-%m-%d %H:%M}"


class VersionComment(models.Model):
    """What a party said about one version, kept with it and shown to every party: a request for changes (which
    sends the version back to the lead agency) or a note in the version's thread."""

    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="comments")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+",
                               help_text="The party the author spoke for.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=CommentKind.choices)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["version", "created_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=CommentKind.values),
                                              name="version_comment_kind_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.version_id} by {self.agency_id}"


class AgreementGroupObjectPermission(GroupObjectPermissionBase):
    """Guardian's direct foreign-key permission model for agreements."""

    content_object = models.ForeignKey(Agreement, on_delete=models.CASCADE)


class ReviewReminder(models.Model):
    """The review reminder for one signed version at one threshold (days before its review date), sent once.

    The row is claimed and committed before the email goes, then marked sent with its audit event: the unique
    constraint means a second run, or a second worker, never sends the same threshold again (see reminders.py).
    """

    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="review_reminders")
    days_before = models.PositiveSmallIntegerField(help_text="The threshold: 90, 30 or 0 days before the review.")
    review_date = models.DateField(help_text="The review date the reminder was about.")
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True, help_text="Usernames of the officers emailed.")

    class Meta:
        ordering = ["version", "-days_before"]
        constraints = [
            # Once per threshold of each review date: a confirmed review moves the date, and its reminders start again.
            models.UniqueConstraint(fields=["version", "days_before", "review_date"], name="review_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.version}: {self.days_before}-day review reminder"


class ReviewConfirmation(models.Model):
    """One party's confirmation that the version in force still holds with no changes, for one review cycle (the
    version's review date when it was confirmed), and the next review date it proposes.

    Once every party has confirmed a cycle the version's review date moves to the earliest date proposed; the
    confirmations stay as the history of that review.
    """

    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="review_confirmations")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+",
                               help_text="The party the officer confirmed for.")
    review_date = models.DateField(help_text="The review date this confirmation answers (the cycle).")
    next_review_date = models.DateField(help_text="The next review date this party proposed.")
    notes = models.TextField(blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When every party had confirmed this cycle and the date moved.")

    class Meta:
        ordering = ["version", "review_date", "confirmed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "review_date", "agency"], name="review_confirmation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.version} review of {self.review_date} confirmed for {self.agency_id}"
