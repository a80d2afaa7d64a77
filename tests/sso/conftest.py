import pytest

from tests.browser.conftest import axe, browser, check_a11y, chromium_path, page  # noqa: F401
from tests.sso import provider as op

TEST_SERVER_CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture(scope="session")
def oidc_provider(live_server):
    """One real OpenID provider for the run, knowing the test client's and the live server's callback URLs."""
    running = op.start([TEST_SERVER_CALLBACK, f"{live_server.url}/oidc/callback/"])
    yield running
    running.stop()


@pytest.fixture
def sso(settings, oidc_provider):
    """Single sign-on switched on against the test provider (as the three environment variables would)."""
    from django.core.cache import cache

    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = op.CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = op.CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Test Council account"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield oidc_provider
    cache.clear()
