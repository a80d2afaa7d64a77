from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from guardian.models import GroupObjectPermissionBase

from .choices import AgencyKind, Classification, Role

MAX_DATA_ITEM_LENGTH = 200


class Agency(models.Model):  # type: ignore[django-manager-missing]  # ApiToken.agency: knox, its base, is untyped
    """A public body or partner organisation that signs agreements and shares data."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=AgencyKind.choices)
    ico_registration = models.CharField("ICO registration number", max_length=32, blank=True)
    dpo_name = models.CharField("Data Protection Officer", max_length=200, blank=True)
    dpo_email = models.EmailField("Data Protection Officer email", blank=True)
    siro_name = models.CharField("Senior Information Risk Owner", max_length=200, blank=True)
    caldicott_guardian_name = models.CharField("Caldicott Guardian", max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        permissions = [("manage_members", "Manage the agency's members")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(code=""), name="agency_code_not_empty"),
            models.CheckConstraint(condition=models.Q(kind__in=AgencyKind.values), name="agency_kind_valid"),
        ]
        indexes = [models.Index(fields=["name", "code"], name="agency_name_code")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Invitations, the register and every answer name an agency by its name, so two agencies must never share
        # one: an admin could otherwise present their agency as another.
        if Agency.objects.filter(name__iexact=self.name.strip()).exclude(pk=self.pk).exists():
            raise ValidationError({"name": "Another agency already has this name. Agency names must be unique."})


class AgencyRole(models.Model):
    """The Django group that holds one role in one agency. A membership is a user in this group."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="roles")
    role = models.CharField(max_length=32, choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="agency_role")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "role"], name="agency_role_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="agency_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.code}:{self.role}"


class Dataset(models.Model):
    """A body of information an agency holds and may share, with its named data items."""

    owner = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="datasets")
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    data_items = models.JSONField(default=list, blank=True, help_text="The named fields or items the dataset holds.")
    special_category = models.BooleanField(default=False, help_text="Holds UK GDPR Article 9 special category data.")
    criminal_offence = models.BooleanField(default=False, help_text="Holds UK GDPR Article 10 criminal offence data.")
    classification = models.CharField(max_length=32, choices=Classification.choices, default=Classification.OFFICIAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(code=""), name="dataset_code_not_empty"),
            models.CheckConstraint(
                condition=models.Q(classification__in=Classification.values), name="dataset_classification_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["name", "code"], name="dataset_name_code"),
            models.Index(fields=["owner", "name"], name="dataset_owner_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A flow shares a subset of these items by name, so each must be a distinct, non-empty piece of text.
        items = self.data_items
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValidationError({"data_items": "List the data items as a list of names."})
        cleaned = [item.strip() for item in items]
        if any(not item for item in cleaned):
            raise ValidationError({"data_items": "A data item's name cannot be blank."})
        if any(len(item) > MAX_DATA_ITEM_LENGTH for item in cleaned):
            raise ValidationError({"data_items": f"Keep each data item's name to {MAX_DATA_ITEM_LENGTH} characters."})
        if len({item.casefold() for item in cleaned}) != len(cleaned):
            raise ValidationError({"data_items": "Each data item must be listed only once."})
        self.data_items = cleaned


class AgencyGroupObjectPermission(GroupObjectPermissionBase):
    """Guardian's direct foreign-key permission model for agencies (indexed joins, no generic keys)."""

    content_object = models.ForeignKey(Agency, on_delete=models.CASCADE)


class DatasetGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Dataset, on_delete=models.CASCADE)


class Invitation(models.Model):
    """An agency admin's invitation to one email address to take one role. The emailed link carries a secret of
    which only a SHA-256 hash is kept; it works once, until `expires_at`, unless cancelled or replaced by a resend."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField()
    full_name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "agency", Lower("email"),
                condition=models.Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="invitation_role_valid"),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(cancelled_at__isnull=True),
                name="invitation_accepted_or_cancelled",
            ),
        ]
        indexes = [models.Index(fields=["agency", "-created_at"], name="invitation_agency_created")]

    def __str__(self) -> str:
        return f"{self.email} to {self.agency.code} as {self.role}"
