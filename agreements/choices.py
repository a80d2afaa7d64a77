from django.db import models


class LegalBasisKind(models.TextChoices):
    ARTICLE6 = "article6", "UK GDPR Article 6 lawful basis"
    ARTICLE9 = "article9", "UK GDPR Article 9 condition"
    ARTICLE10 = "article10", "UK GDPR Article 10 basis"
    STATUTE = "statute", "Statutory gateway"
    COMMON_LAW = "common_law", "Common law"


class AgreementStatus(models.TextChoices):
    """The agreement's lifecycle, as the public contract names it."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Awaiting signatures"
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class VersionState(models.TextChoices):
    """The state of one version of an agreement's terms."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Awaiting signatures"
    SIGNED = "signed", "Signed by every party"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded by a later version"
    WITHDRAWN = "withdrawn", "Withdrawn"


class PeriodState(models.TextChoices):
    IN_FORCE = "in_force", "In force"
    SUSPENDED = "suspended", "Suspended"


class Method(models.TextChoices):
    SECURE_EMAIL = "secure_email", "Secure email"
    SHARED_SYSTEM = "shared_system", "Shared case-management system"
    SFTP = "sftp", "Secure file transfer"
    API = "api", "System-to-system interface"
    VERBAL = "verbal", "Verbal, recorded in the case file"
    OTHER = "other", "Other"


class Frequency(models.TextChoices):
    AS_NEEDED = "as_needed", "Case by case, as needed"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    REAL_TIME = "real_time", "Real time"
