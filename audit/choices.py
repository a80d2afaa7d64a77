from django.db import models


class AuditAction(models.TextChoices):
    """Every action the log records. Values are part of the public contract: never rename one."""

    AGREEMENT_CREATED = "agreement.created"
    AGREEMENT_UPDATED = "agreement.updated"
    AGREEMENT_SUBMITTED = "agreement.submitted"
    AGREEMENT_APPROVED = "agreement.approved"
    AGREEMENT_ACTIVATED = "agreement.activated"
    AGREEMENT_REJECTED = "agreement.rejected"
    AGREEMENT_SUSPENDED = "agreement.suspended"
    AGREEMENT_REINSTATED = "agreement.reinstated"
    AGREEMENT_REVOKED = "agreement.revoked"
    AGREEMENT_EXPIRED = "agreement.expired"
    AGREEMENT_AMENDED = "agreement.amended"
    AGREEMENT_WITHDRAWN = "agreement.withdrawn"
    AGREEMENT_CHANGES_REQUESTED = "agreement.changes_requested"
    AGREEMENT_COPIED = "agreement.copied"
    AGREEMENT_VIEWED = "agreement.viewed"
    AGREEMENT_LISTED = "agreement.listed"
    AGREEMENT_IMPORTED = "agreement.imported"
    AGREEMENT_REVIEW_REMINDED = "agreement.review_reminded"
    AGREEMENT_REVIEW_CONFIRMED = "agreement.review_confirmed"
    AGREEMENT_REVIEWED = "agreement.reviewed"
    AGREEMENT_COMMENTED = "agreement.commented"
    AGENCY_CREATED = "agency.created"
    AGENCY_UPDATED = "agency.updated"
    AGENCY_VIEWED = "agency.viewed"
    AGENCY_LISTED = "agency.listed"
    DATASET_CREATED = "dataset.created"
    DATASET_UPDATED = "dataset.updated"
    DATASET_VIEWED = "dataset.viewed"
    DATASET_LISTED = "dataset.listed"
    MEMBERSHIP_GRANTED = "membership.granted"
    MEMBERSHIP_REVOKED = "membership.revoked"
    MEMBERSHIP_LISTED = "membership.listed"
    PERMISSION_GRANTED = "permission.granted"
    PERMISSION_REVOKED = "permission.revoked"
    CHECK_ALLOWED = "check.allowed"
    CHECK_DENIED = "check.denied"
    AUDIT_VIEWED = "audit.viewed"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_EXPORT_REQUESTED = "audit.export_requested"
    AUDIT_EXPORT_FINISHED = "audit.export_finished"
    AUDIT_EXPORT_DOWNLOADED = "audit.export_downloaded"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_VERIFY_FAILED = "audit.verify_failed"
    AUDIT_VERIFY_REQUESTED = "audit.verify_requested"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGOUT = "auth.logout"
    TOKEN_CREATED = "token.created"  # noqa: S105 - an action name, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an action name, not a secret
    ACCESS_DENIED = "access.denied"
    MEMBERSHIP_INVITED = "membership.invited"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_CANCELLED = "invitation.cancelled"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    AUTH_PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an action name, not a secret
    AUTH_PASSWORD_RESET = "auth.password_reset"  # noqa: S105 - an action name, not a secret
    AUTH_LOCKOUT_RESET = "auth.lockout_reset"
    SCHEDULE_CHANGED = "schedule.changed"
    NOTIFICATION_EMAILED = "notification.emailed"
    NOTIFICATION_SETTINGS_CHANGED = "notification.settings_changed"


class ExportStatus(models.TextChoices):
    """Where a background export job has got to."""

    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Being written"
    FINISHED = "finished", "Ready to download"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class VerificationKind(models.TextChoices):
    """How much of the chain a verification walked."""

    FULL = "full", "The whole chain"
    INCREMENTAL = "incremental", "Since the last verified checkpoint"
