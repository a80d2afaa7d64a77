from django.db import models


class NotificationKind(models.TextChoices):
    """What a notice is about. Values are public (the API's `kind`): never rename one."""

    SUBMITTED = "submitted", "Sent for signature"
    CHANGES_REQUESTED = "changes_requested", "Changes asked for"
    SIGNED = "signed", "Signed by a party"
    ACTIVATED = "activated", "In force"
    SUSPENDED = "suspended", "Suspended"
    REINSTATED = "reinstated", "Reinstated"
    REVOKED = "revoked", "Revoked"
    REVIEW_DUE = "review_due", "Review due"
    REVIEW_CONFIRMED = "review_confirmed", "Review confirmed"
    COMMENTED = "commented", "Comment added"
