from django.conf import settings
from django.db import models
from django.utils import timezone

from .choices import NotificationKind


class Notification(models.Model):
    """One notice to one person: an item in their inbox and, when they take email, one email.

    `event` is the audit event the notice is about, and each person gets one notice per event (a unique constraint).
    `emailed_at` is set in the transaction that sends the email, with the row locked, so a redelivered task (after a
    worker restart, say) finds it set and sends nothing (notifications/services.py).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    event = models.ForeignKey("audit.AuditEvent", on_delete=models.PROTECT, related_name="+",
                              help_text="The audit event the notice is about.")
    object_type = models.CharField(max_length=32, blank=True)
    object_ref = models.CharField(max_length=64, blank=True)
    agencies = models.JSONField(default=list, blank=True, help_text="Codes of the agencies the notice concerns.")
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Plain text: the inbox and both bodies of the email show it.")
    link = models.CharField(max_length=500, blank=True, help_text="A path on this site, e.g. the agreement's page.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_wanted = models.BooleanField(default=False, help_text="The person had an address and email turned on.")
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notification_once_per_event"),
            models.CheckConstraint(condition=models.Q(kind__in=NotificationKind.values),
                                   name="notification_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_inbox"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.object_ref} for {self.user_id}"


class NotificationPreference(models.Model):
    """A person's choice about notices. Only email can be turned off: the inbox always gets them."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preference")
    email = models.BooleanField(default=True, help_text="Email me each notice as well.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: email {'on' if self.email else 'off'}"
