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


class PeriodEndReason(models.TextChoices):
    """Why a period ended (blank while it is open). Stored, so values are never renamed."""

    SUPERSEDED = "superseded", "A later version came into force"
    SUSPENDED = "suspended", "Suspended"
    REINSTATED = "reinstated", "Reinstated"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


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


class CheckOutcome(models.TextChoices):
    """What a check found: public in the API (`outcome`), so values are never renamed. They are declared in their
    rank: when several agreements could answer a check, the one whose outcome comes first answers (the closest to a
    yes while in force, then suspended, revoked or expired, then not yet signed, drafts, rejected ones, and last
    agreements that share the other way or other data). NO_AGREEMENT and NOT_VISIBLE answer when none can."""

    ALLOWED = "allowed", "You may share this"
    ITEMS_NOT_COVERED = "items_not_covered", "Some of the items are not covered"
    REVIEW_LAPSED = "review_lapsed", "The agreement's review has lapsed"
    NOT_YET_STARTED = "not_yet_started", "Signed, but not started yet"
    EXPIRED = "expired", "Expired"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    NOT_YET_IN_FORCE = "not_yet_in_force", "Not yet in force on that date"
    AWAITING_SIGNATURES = "awaiting_signatures", "Awaiting signatures"
    DRAFT = "draft", "A draft, not yet sent for signature"
    REJECTED = "rejected", "Rejected"
    WRONG_DIRECTION = "wrong_direction", "The agreement covers sharing the other way"
    DATASET_NOT_COVERED = "dataset_not_covered", "The agreement does not cover this dataset"
    NO_AGREEMENT = "no_agreement", "No agreement"
    NOT_VISIBLE = "not_visible", "No agreement that the asker may see"

    @property
    def rank(self) -> int:
        """Where this outcome stands in the order above (0 answers first)."""
        return _CHECK_OUTCOME_ORDER.index(self)


class TermsErrorCode(models.TextChoices):
    """Why an agreement's terms were refused (agreements.rules): pages decide what to show from these codes, never
    from the wording of the message. The API reports them as DRF error codes."""

    REQUIRED = "required", "Something needed is missing"
    TOO_LONG = "too_long", "Too long"
    TOO_MANY = "too_many", "Too many"
    INVALID = "invalid", "Not the right kind of value"
    UNKNOWN_AGENCY = "unknown_agency", "No agency has that code"
    UNKNOWN_DATASET = "unknown_dataset", "No dataset has that code"
    UNKNOWN_LEGAL_BASIS = "unknown_legal_basis", "No legal basis has that code"
    UNKNOWN_DATA_ITEM = "unknown_data_item", "The dataset does not hold that item"
    UNKNOWN_CHOICE = "unknown_choice", "Not one of the choices"
    INACTIVE_AGENCY = "inactive_agency", "The agency is no longer active"
    DATE_OUT_OF_RANGE = "date_out_of_range", "The date is out of range"
    END_BEFORE_START = "end_before_start", "The end date is before the start date"
    REVIEW_OUTSIDE_PERIOD = "review_outside_period", "The review date is outside the agreement's period"
    NO_FLOWS = "no_flows", "No flows"
    SAME_AGENCY = "same_agency", "The provider and the recipient are the same agency"
    NOT_DATASET_OWNER = "not_dataset_owner", "The provider does not hold the dataset"
    REPEATED_FLOW = "repeated_flow", "The flow repeats another"
    NO_ARTICLE6 = "no_article6", "No UK GDPR Article 6 lawful basis"
    NO_ARTICLE9 = "no_article9", "Special category data without an Article 9 condition"
    NO_ARTICLE10 = "no_article10", "Criminal offence data without Article 10"


class CommentKind(models.TextChoices):
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    COMMENT = "comment", "Comment"


_CHECK_OUTCOME_ORDER = list(CheckOutcome)
