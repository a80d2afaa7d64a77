from django.db import models


class AgencyKind(models.TextChoices):
    LOCAL_AUTHORITY = "local_authority", "Local authority"
    NHS_TRUST = "nhs_trust", "NHS trust"
    GP_PRACTICE = "gp_practice", "GP practice"
    POLICE = "police", "Police"
    FIRE_RESCUE = "fire_rescue", "Fire and rescue service"
    EDUCATION = "education", "Education"
    VOLUNTARY = "voluntary", "Voluntary organisation"
    OTHER = "other", "Other"


class Role(models.TextChoices):
    """A person's role in one agency. Values are part of the public contract."""

    GOVERNANCE_OFFICER = "governance_officer", "Governance officer"
    FRONTLINE = "frontline", "Frontline worker"
    AUDITOR = "auditor", "Auditor"
    AGENCY_ADMIN = "agency_admin", "Agency administrator"


class Classification(models.TextChoices):
    OFFICIAL = "OFFICIAL", "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE", "OFFICIAL-SENSITIVE"
