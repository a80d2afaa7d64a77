from django.conf import settings
from django.db import models


class Profile(models.Model):
    """What the registry shows about a person: their full name and job title (signatures and member lists use them).

    Read them through `accounts.selectors.display_name(user)` and `job_title(user)`, which work without a profile.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    full_name = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.full_name or self.user.get_username()
