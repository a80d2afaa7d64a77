from django.conf import settings
from django.db import models
from django.utils import timezone

from .choices import AuditAction


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
    agency = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    agency_code = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_ref = models.CharField(max_length=128, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["agency", "at"], name="audit_agency_at"),
            models.Index(fields=["action", "at"], name="audit_action_at"),
            models.Index(fields=["object_type", "object_ref"], name="audit_object"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_ref} by {self.actor_name}"


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
    """A signed statement of the chain's head: "position N ends in hash H". Append-only.

    Signed with the Ed25519 key held outside the database, so a recomputed chain does not match it.
    """

    position = models.BigIntegerField()
    head_seq = models.BigIntegerField(help_text="The seq of the event at `position`.")
    head_hash = models.CharField(max_length=64)
    seq_high = models.BigIntegerField(help_text="The highest seq sealed so far.")
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128)

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

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"verification at {self.ran_at:%Y-%m-%d %H:%M}: {'ok' if self.ok else 'FAILED'}"
