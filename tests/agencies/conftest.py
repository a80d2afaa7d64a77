"""A small region for the agencies tests: two agencies made through the services (so their permissions are the
real, audited grants), one dataset each, and one person per role."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from agencies.choices import AgencyKind, Role
from agencies.models import Agency, Dataset
from agencies.services import agency_create, dataset_create
from tests.factories import UserFactory, api_key, member


@dataclass
class Region:
    home: Agency
    other: Agency
    home_dataset: Dataset
    other_dataset: Dataset
    users: dict


@pytest.fixture
def region(db) -> Region:
    home = agency_create(actor=None, code="home-council", name="Home City Council", kind=AgencyKind.LOCAL_AUTHORITY)
    other = agency_create(actor=None, code="other-trust", name="Other NHS Trust", kind=AgencyKind.NHS_TRUST)
    home_dataset = dataset_create(
        actor=None, owner=home, code="home-social-care", name="Adult social care records", data_items=["name", "needs"]
    )
    other_dataset = dataset_create(
        actor=None, owner=other, code="other-discharges", name="Discharge summaries", special_category=True
    )
    users = {
        "home_officer": member(home, Role.GOVERNANCE_OFFICER, "home-officer"),
        "home_frontline": member(home, Role.FRONTLINE, "home-frontline"),
        "home_auditor": member(home, Role.AUDITOR, "home-auditor"),
        "home_admin": member(home, Role.AGENCY_ADMIN, "home-admin"),
        "other_admin": member(other, Role.AGENCY_ADMIN, "other-admin"),
        "other_officer": member(other, Role.GOVERNANCE_OFFICER, "other-officer"),
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    return Region(home=home, other=other, home_dataset=home_dataset, other_dataset=other_dataset, users=users)


def api_client(user=None) -> APIClient:
    """An API client that signs in with a token, as integrations do (each request loads the user afresh)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The region makes several users; the real PBKDF2 hasher would spend seconds per test on their passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
