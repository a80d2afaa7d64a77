from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class ApiToken(AbstractAuthToken):
    """A named key another system sends as `Authorization: Token <key>`. It acts as the person who created it.

    Only a SHA-512 digest of the key is stored (django-rest-knox), with its first characters to find the row; the
    key itself is shown once, when it is made. Revoking deletes the row; the audit log keeps the history.
    """

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="api_tokens", help_text="The agency whose system uses it.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        indexes = [models.Index(fields=["agency", "created"], name="apitoken_agency_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(expiry__isnull=False), name="apitoken_expires"),
            models.CheckConstraint(condition=~models.Q(name=""), name="apitoken_named"),
        ]

    def __str__(self) -> str:
        return self.name
