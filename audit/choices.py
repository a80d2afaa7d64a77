from django.db import models


class AuditAction(models.TextChoices):
    """Every action the log records. Values are part of the public contract: never rename one. Labels are the plain
    English that pages show for them (the dashboard's recent activity, the audit log's filter and events)."""

    AGREEMENT_CREATED = "agreement.created", "Agreement drafted"
    AGREEMENT_UPDATED = "agreement.updated", "Draft changed"
    AGREEMENT_SUBMITTED = "agreement.submitted", "Sent for signature"
    AGREEMENT_APPROVED = "agreement.approved", "Signed for an agency"
    AGREEMENT_ACTIVATED = "agreement.activated", "Came into force"
    AGREEMENT_REJECTED = "agreement.rejected", "Rejected"
    AGREEMENT_SUSPENDED = "agreement.suspended", "Suspended"
    AGREEMENT_REINSTATED = "agreement.reinstated", "Reinstated"
    AGREEMENT_REVOKED = "agreement.revoked", "Revoked"
    AGREEMENT_EXPIRED = "agreement.expired", "Expired"
    AGREEMENT_AMENDED = "agreement.amended", "Amendment started"
    AGREEMENT_WITHDRAWN = "agreement.withdrawn", "Agreement withdrawn"
    AGREEMENT_CHANGES_REQUESTED = "agreement.changes_requested", "Agreement changes requested"
    AGREEMENT_COPIED = "agreement.copied", "Agreement copied"
    AGREEMENT_VIEWED = "agreement.viewed", "Agreement viewed"
    AGREEMENT_LISTED = "agreement.listed", "Agreement listed"
    AGREEMENT_IMPORTED = "agreement.imported", "Agreement imported"
    AGREEMENT_REVIEW_REMINDED = "agreement.review_reminded", "Agreement review reminded"
    AGREEMENT_REVIEW_CONFIRMED = "agreement.review_confirmed", "Review confirmed for an agency"
    AGREEMENT_REVIEWED = "agreement.reviewed", "Review done"
    AGREEMENT_COMMENTED = "agreement.commented", "Comment added"
    AGENCY_CREATED = "agency.created", "Agency created"
    AGENCY_UPDATED = "agency.updated", "Agency updated"
    AGENCY_VIEWED = "agency.viewed", "Agency viewed"
    AGENCY_LISTED = "agency.listed", "Agency listed"
    DATASET_CREATED = "dataset.created", "Dataset created"
    DATASET_UPDATED = "dataset.updated", "Dataset updated"
    DATASET_VIEWED = "dataset.viewed", "Dataset viewed"
    DATASET_LISTED = "dataset.listed", "Dataset listed"
    MEMBERSHIP_GRANTED = "membership.granted", "Member added"
    MEMBERSHIP_REVOKED = "membership.revoked", "Member removed"
    MEMBERSHIP_LISTED = "membership.listed", "Membership listed"
    PERMISSION_GRANTED = "permission.granted", "Permission granted"
    PERMISSION_REVOKED = "permission.revoked", "Permission revoked"
    CHECK_ALLOWED = "check.allowed", "Sharing check: yes"
    CHECK_DENIED = "check.denied", "Sharing check: no"
    AUDIT_VIEWED = "audit.viewed", "Audit viewed"
    AUDIT_EXPORTED = "audit.exported", "Audit exported"
    AUDIT_EXPORT_REQUESTED = "audit.export_requested", "Audit export requested"
    AUDIT_EXPORT_FINISHED = "audit.export_finished", "Audit export finished"
    AUDIT_VERIFIED = "audit.verified", "Audit verified"
    AUDIT_VERIFY_FAILED = "audit.verify_failed", "Audit verify failed"
    AUDIT_VERIFY_REQUESTED = "audit.verify_requested", "Audit verify requested"
    AUTH_LOGIN = "auth.login", "Signed in"
    AUTH_LOGIN_FAILED = "auth.login_failed", "Auth login failed"
    AUTH_LOGOUT = "auth.logout", "Auth logout"
    TOKEN_CREATED = "token.created", "Token created"  # noqa: S105 - an action name, not a secret
    TOKEN_REVOKED = "token.revoked", "Token revoked"  # noqa: S105 - an action name, not a secret
    ACCESS_DENIED = "access.denied", "Access denied"
    MEMBERSHIP_INVITED = "membership.invited", "Membership invited"
    INVITATION_RESENT = "invitation.resent", "Invitation resent"
    INVITATION_CANCELLED = "invitation.cancelled", "Invitation cancelled"
    USER_CREATED = "user.created", "User created"
    USER_UPDATED = "user.updated", "User updated"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    USER_DELETED = "user.deleted", "User deleted"
    AUTH_PASSWORD_CHANGED = "auth.password_changed", "Auth password changed"  # noqa: S105 - an action name, not a secret
    AUTH_PASSWORD_RESET = "auth.password_reset", "Auth password reset"  # noqa: S105 - an action name, not a secret
    AUTH_LOCKOUT_RESET = "auth.lockout_reset", "Auth lockout reset"
    SCHEDULE_CHANGED = "schedule.changed", "Schedule changed"
    NOTIFICATION_EMAILED = "notification.emailed", "Notification emailed"
    NOTIFICATION_SETTINGS_CHANGED = "notification.settings_changed", "Notification settings changed"


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
