import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from .choices import AuditAction, ExportStatus, VerificationKind
from .fields import CanonicalJSONField


class AuditEvent(models.Model):
    """One thing that happened: a grant, a change or an access. Append-only.

    Database triggers refuse UPDATE, DELETE and TRUNCATE (see migrations). Names are frozen at write
    time, and foreign keys PROTECT: a cascade or SET_NULL would try to rewrite an append-only row.
    """

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_name = models.CharField(max_length=150, help_text="Username at the time, or the named system actor.")
    # The id of the agency the event is filed under, as written (it is part of the hashed form). Only a number here:
    # audit knows agencies by their frozen code. The database keeps the foreign key its first migration created.
    agency_id = models.BigIntegerField(null=True, blank=True)
    agency_code = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_ref = models.CharField(max_length=128, blank=True)
    detail = CanonicalJSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    agencies = models.JSONField(
        default=list, blank=True,
        help_text="The codes of every agency the event concerns, sorted: the auditors of each of them see it.",
    )

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["agency_id", "at"], name="audit_agency_at"),
            models.Index(fields=["action", "at"], name="audit_action_at"),
            models.Index(fields=["object_type", "object_ref"], name="audit_object"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_ref} by {self.actor_name}"


class AuditEventAgency(models.Model):
    """One agency an event concerns: the index behind an auditor's view of the log. Append-only.

    Written by a database trigger from the event's own `agencies` (audit/triggers.py), in the INSERT's statement,
    so a writer pays no extra round trip and the index can never disagree with the hashed event.
    """

    pk = models.CompositePrimaryKey("agency_code", "event")
    agency_code = models.CharField(max_length=64)
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+", db_column="seq",
                              db_index=False)

    def __str__(self) -> str:
        return f"event {self.event_id} concerns {self.agency_code}"


class AuditSeal(models.Model):
    """An event's place in the hash chain, written by the sealer after the event commits. Append-only.

    `position` is the chain order (contiguous from 1); an event that commits late gets the next position,
    so position order and seq order may differ. `hash` covers the event's canonical form and `prev_hash`.
    """

    event = models.OneToOneField(
        AuditEvent, primary_key=True, on_delete=models.PROTECT, related_name="seal", db_column="seq"
    )
    position = models.BigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["position"]
        constraints = [models.CheckConstraint(condition=models.Q(position__gte=1), name="audit_seal_position_positive")]

    def __str__(self) -> str:
        return f"seal #{self.position} of event {self.event_id}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's head: "position N ends in hash H, after checkpoint P". Append-only.

    Signed with the Ed25519 key held outside the database, so a recomputed chain does not match it. Each one
    covers the previous checkpoint's position and hash, so checkpoints chain too; `hash` is SHA-256 of the signed
    message. Every checkpoint is also appended to the witness (audit.witness) outside the database.
    """

    position = models.BigIntegerField()
    head_seq = models.BigIntegerField(help_text="The seq of the event at `position`.")
    head_hash = models.CharField(max_length=64)
    seq_high = models.BigIntegerField(help_text="The highest seq sealed so far.")
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128)
    prev_position = models.BigIntegerField(default=0, help_text="The position of the previous checkpoint (0: none).")
    prev_hash = models.CharField(max_length=64, blank=True,
                                 help_text="The previous checkpoint's hash ('' on v1 ones, which did not chain).")
    hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the signed message.")

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["position"], name="audit_checkpoint_position")]

    def __str__(self) -> str:
        return f"checkpoint at position {self.position}"


class AuditVerification(models.Model):
    """One run of `verify_audit`: its result, shown to auditors. Append-only."""

    ran_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    events = models.BigIntegerField(default=0)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    duration_ms = models.IntegerField(default=0)
    first_bad_position = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=16, choices=VerificationKind.choices, default=VerificationKind.FULL)
    from_position = models.BigIntegerField(default=1, help_text="The first position walked (incremental runs start "
                                                                 "after the last verified checkpoint).")
    verified_position = models.BigIntegerField(
        null=True, blank=True, help_text="The last witnessed checkpoint this run verified: where the next "
                                         "incremental run starts.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="The auditor who asked for this run, if one did.")

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"verification at {self.ran_at:%Y-%m-%d %H:%M}: {'ok' if self.ok else 'FAILED'}"


class AuditAlert(models.Model):
    """Something the sealer must tell auditors: it refused to sign (the database's chain does not extend what the
    witness holds), it signed a chain holding a planted row, or nothing else sealed the log in time (beat stopped or
    its schedule disabled). Append-only.

    Shown as a banner to auditors and emailed to them; also logged.
    """

    REFUSED_PREFIX = "The audit sealer refused to sign"

    raised_at = models.DateTimeField(default=timezone.now)
    position = models.BigIntegerField(null=True, blank=True, help_text="The first position that disagrees.")
    message = models.TextField()

    class Meta:
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"audit alert at {self.raised_at:%Y-%m-%d %H:%M}: {self.message[:60]}"

    @property
    def refused(self) -> bool:
        """The sealer refused to sign (the other alerts are about a chain it still signs)."""
        return self.message.startswith(self.REFUSED_PREFIX)


class ExportJob(models.Model):
    """A large export written to a file by a background task, for the auditor who asked for it.

    `filters` are the event filters as `EventFilters.as_detail()` gives them; `seq_high` freezes the export to the
    events that existed when it was asked for. `rows_total` is the count when writing began, and the rows written
    once it finishes. The file lives in AUDIT_EXPORT_DIR until `expires_at`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filters = models.JSONField(default=dict, blank=True)
    format = models.CharField(max_length=8, choices=[("csv", "CSV"), ("jsonl", "JSON Lines")])
    seq_high = models.BigIntegerField(help_text="The highest event seq when the export was asked for.")
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True, help_text="The finished file, in AUDIT_EXPORT_DIR.")
    attempts = models.PositiveIntegerField(default=0, help_text="How many times writing has started.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="The last progress update.")
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ExportStatus.values), name="export_job_status_valid"),
            models.CheckConstraint(condition=models.Q(format__in=["csv", "jsonl"]), name="export_job_format_valid"),
            models.CheckConstraint(condition=models.Q(rows_done__gte=0), name="export_job_rows_done_positive"),
            models.CheckConstraint(
                condition=~models.Q(status=ExportStatus.FINISHED) | ~models.Q(file_name=""),
                name="export_job_finished_has_file",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="export_job_requester"),
            models.Index(fields=["status", "expires_at"], name="export_job_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.format} export {self.pk} ({self.status})"

    @property
    def percent_done(self) -> int:
        if not self.rows_total:
            return 100 if self.status == ExportStatus.FINISHED else 0
        return min(100, int(self.rows_done * 100 / self.rows_total))
