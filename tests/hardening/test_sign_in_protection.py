"""Sign-in protection: django-axes locks out repeated failures with a GOV.UK page; every attempt is audited;
API tokens, right and wrong, are rate-limited with 429, Retry-After and a JSON detail."""

import datetime as dt
import time

import pytest
from rest_framework.throttling import SimpleRateThrottle

from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory, api_key

LOGIN = "/accounts/login/"


def attempt(client, username, password, address="203.0.113.5"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def sign_in_events(username):
    return list(AuditEvent.objects.filter(object_type="user", object_ref=username).order_by("seq")
                .values_list("action", "detail"))


@pytest.mark.django_db
class SignInLockoutTests:
    def test_repeated_failures_lock_the_account_out_with_a_plain_english_page(self, client, settings):
        user = UserFactory(username="mallory-target")
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            response = attempt(client, user.username, "wrong-password")
            assert response.status_code == 200
            assert "Enter a correct username and password" in response.content.decode()
        assert attempt(client, user.username, "wrong-password").status_code == 429  # the last one allowed

        # The right password no longer works from that address while the lockout lasts.
        response = attempt(client, user.username, PASSWORD)
        page = response.content.decode()
        assert response.status_code == 429
        assert response["Retry-After"] == str(15 * 60)
        assert "Too many attempts to sign in" in page and "try again in 15 minutes" in page
        assert 'class="govuk-template"' in page  # the GOV.UK layout, not a bare 403 text
        assert "_auth_user_id" not in client.session

        actions = [action for action, _ in sign_in_events(user.username)]
        assert actions == ["auth.login_failed"] * (settings.AXES_FAILURE_LIMIT + 1)
        assert sign_in_events(user.username)[-1][1]["locked_out"] is True
        assert "locked_out" not in sign_in_events(user.username)[0][1]

    def test_a_lockout_is_for_that_username_from_that_address_only(self, client, settings):
        user = UserFactory(username="shared-office")
        for _ in range(settings.AXES_FAILURE_LIMIT):
            attempt(client, user.username, "wrong-password", address="203.0.113.5")
        assert attempt(client, user.username, PASSWORD, address="203.0.113.5").status_code == 429
        # A spoofed X-Forwarded-For does not make a new address; only REMOTE_ADDR counts.
        response = client.post(LOGIN, {"username": user.username, "password": PASSWORD},
                               REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.9")
        assert response.status_code == 429
        # The same person from their usual office address signs in.
        response = attempt(client, user.username, PASSWORD, address="198.51.100.7")
        assert response.status_code == 302
        assert sign_in_events(user.username)[-1][0] == "auth.login"

    def test_a_success_resets_the_count_and_the_lockout_ends_after_the_cool_off(self, client, settings):
        settings.AXES_COOLOFF_TIME = dt.timedelta(seconds=1)
        user = UserFactory(username="forgetful")
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            attempt(client, user.username, "wrong-password")
        assert attempt(client, user.username, PASSWORD).status_code == 302
        client.logout()
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            attempt(client, user.username, "wrong-password")
        assert attempt(client, user.username, PASSWORD).status_code == 302  # the count started again
        client.logout()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            attempt(client, user.username, "wrong-password")
        assert attempt(client, user.username, PASSWORD).status_code == 429
        time.sleep(1.2)
        assert attempt(client, user.username, PASSWORD).status_code == 302

    def test_the_admin_sign_in_is_protected_too(self, client, settings):
        UserFactory(username="root-ish", is_staff=True, is_superuser=True)
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post("/admin/login/", {"username": "root-ish", "password": "guess"}, REMOTE_ADDR="203.0.113.5")
        response = client.post("/admin/login/", {"username": "root-ish", "password": PASSWORD},
                               REMOTE_ADDR="203.0.113.5")
        assert response.status_code == 429
        assert "Too many attempts to sign in" in response.content.decode()


@pytest.fixture
def low_rates(monkeypatch):
    """Lower the API rates for one test (the suite's defaults are generous, and each test starts with none spent)."""

    def lower(**rates):
        for scope, rate in rates.items():
            monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return lower


@pytest.mark.django_db
class TokenRateLimitTests:
    def test_a_token_that_calls_too_often_gets_429_with_retry_after(self, client, low_rates):
        low_rates(user="3/minute")
        busy = api_key(UserFactory(username="busy-system"))
        calm = api_key(UserFactory(username="calm-system"))
        for _ in range(3):
            assert client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {busy}").status_code == 200
        response = client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {busy}")
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 60
        assert response["Content-Type"] == "application/json"
        assert "Request was throttled" in response.json()["detail"]
        # Another system's token has its own allowance.
        assert client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {calm}").status_code == 200

    def test_wrong_tokens_are_limited_per_address(self, client, low_rates):
        low_rates(bad_token="3/minute")
        good = api_key(UserFactory(username="real-system"))
        for guess in range(3):
            response = client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {guess:064d}",
                                  REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"10.0.0.{guess}")
            assert response.status_code == 401
        response = client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION="Token " + "f" * 64,
                              REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.0.0.99")
        assert response.status_code == 429
        assert int(response["Retry-After"]) >= 1
        assert response.json()["detail"].startswith("Too many wrong tokens from your address. Expected available in")
        # Other addresses, and right tokens from them, are unaffected.
        response = client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {good}", REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 200

    def test_wrong_tokens_never_lock_out_a_valid_token_from_the_same_address(self, client, low_rates):
        """A council's systems share one outgoing address: one misconfigured integration sending a wrong token
        must not lock out the others. At the default rate, 20 wrong tokens a minute used to refuse every token."""
        low_rates(bad_token="20/minute")
        good = api_key(UserFactory(username="working-system"))
        office = {"REMOTE_ADDR": "203.0.113.9"}
        for guess in range(25):
            response = client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {guess:064x}", **office)
            assert response.status_code == (401 if guess < 20 else 429)
        for _ in range(3):  # the broken system keeps going; the working one is served in between
            response = client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {good}", **office)
            assert response.status_code == 200
            assert client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION="Token " + "e" * 64,
                              **office).status_code == 429

    def test_anonymous_callers_of_public_endpoints_are_limited(self, client, low_rates):
        low_rates(anon="2/minute")
        for _ in range(2):
            assert client.get("/api/v1/schema/").status_code == 200
        response = client.get("/api/v1/schema/")
        assert response.status_code == 429
        assert "Retry-After" in response
