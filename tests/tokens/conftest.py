import pytest

from agencies.choices import AgencyKind, Role
from agencies.services import agency_create
from tests.browser.conftest import axe, browser, check_a11y, chromium_path, page  # noqa: F401
from tests.factories import UserFactory, member


@pytest.fixture
def council(db):
    return agency_create(actor=None, code="home-council", name="Home City Council", kind=AgencyKind.LOCAL_AUTHORITY)


@pytest.fixture
def people(council):
    other = agency_create(actor=None, code="other-trust", name="Other NHS Trust", kind=AgencyKind.NHS_TRUST)
    return {
        "admin": member(council, Role.AGENCY_ADMIN, "home-admin"),
        "second_admin": member(council, Role.AGENCY_ADMIN, "home-admin-2"),
        "officer": member(council, Role.GOVERNANCE_OFFICER, "home-officer"),
        "other_admin": member(other, Role.AGENCY_ADMIN, "other-admin"),
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
