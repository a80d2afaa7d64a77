"""Reads of API tokens. Nothing here ever returns a key: only the digest is stored, and no selector selects it."""

from __future__ import annotations

from django.db.models import QuerySet

from agencies import selectors as agency_selectors
from agencies.models import Agency
from common.types import User

from .models import ApiToken

LISTED_FIELDS = ("id", "name", "agency", "user", "created", "expiry", "last_used_at")
# The creator as pages name them: their full name (accounts.selectors.display_name), else Django's names.
CREATOR_FIELDS = ("user__username", "user__first_name", "user__last_name", "user__profile__full_name",
                  "user__profile__job_title")


def token_can_manage(*, user: User, agency: Agency) -> bool:
    """Whoever may manage an agency's members (its administrators, superusers) manages its systems' tokens."""
    return agency_selectors.agency_can_manage_members(user=user, agency=agency)


def token_list(*, agency: Agency) -> QuerySet[ApiToken]:
    """An agency's tokens, newest first, with their creators (one query; no digest, no key prefix)."""
    return (ApiToken.objects.filter(agency=agency).select_related("user__profile")
            .only(*LISTED_FIELDS, *CREATOR_FIELDS).order_by("-created", "-id"))


def token_get(*, agency: Agency, token_id: int) -> ApiToken | None:
    return ApiToken.objects.filter(agency=agency, pk=token_id).select_related("user__profile").only(
        *LISTED_FIELDS, *CREATOR_FIELDS).first()
