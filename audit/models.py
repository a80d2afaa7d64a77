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
