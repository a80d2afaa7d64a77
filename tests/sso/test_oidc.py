"""Single sign-on against a real OpenID provider (tests/oidc_provider), driven with Django's test client.

A person is matched by the email their provider vouches for; nobody is created or given a role by the provider.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model

from agencies.choices import Role
from audit.models import AuditEvent
from tests.factories import AgencyFactory, UserFactory, member
from tests.sso import provider as op
from tests.sso.conftest import TEST_SERVER_CALLBACK

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_through_provider(client, login: str):
    """Start at the registry's button, sign in at the provider as `login`, and come back. Returns the response."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302
    back = op.sign_in_at_provider(start["Location"], login, TEST_SERVER_CALLBACK)
    parts = urlsplit(back)
    return client.get(parts.path, parse_qs(parts.query))


def signed_in_as(client):
    return client.session.get("_auth_user_id")


class SingleSignOnTests:
    def test_a_verified_email_signs_in_its_existing_account_and_is_audited(self, client, sso):
        council = AgencyFactory(code="test-council")
        ada = member(council, Role.FRONTLINE, "ada")
        ada.email = "Ada.Lovelace@council.example"
        ada.save()
        response = sign_in_through_provider(client, "ada.lovelace@council.example")
        assert response.status_code == 302 and response["Location"] == "/"
        assert signed_in_as(client) == str(ada.pk)
        event = AuditEvent.objects.filter(action="auth.login").latest("seq")
        assert event.actor_name == "ada"
        assert event.detail["method"] == "oidc"
        assert client.get("/").status_code == 200

    def test_switching_the_account_off_ends_a_single_sign_on_session(self, client, sso):
        ada = UserFactory(username="ada", email="ada@council.example")
        sign_in_through_provider(client, "ada@council.example")
        assert client.get("/").status_code == 200
        ada.is_active = False
        ada.save()
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_an_unverified_email_signs_nobody_in(self, client, sso):
        UserFactory(username="ada", email="ada@council.example")
        response = sign_in_through_provider(client, "unverified:ada@council.example")
        assert response["Location"] == "/accounts/login/?sso=failed"
        assert signed_in_as(client) is None
        page = client.get(response["Location"])
        assert page.status_code == 401
        assert "did not confirm your email address" in page.text
        event = AuditEvent.objects.filter(action="auth.login_failed").latest("seq")
        assert event.detail["reason"] == "unverified" and event.object_ref == "ada@council.example"

    def test_regression_a_failed_single_sign_on_is_hidden_from_the_persons_auditors(self, client, sso):
        council = AgencyFactory(code="test-council")
        member(council, Role.FRONTLINE, "ada", email="ada@council.example")
        sign_in_through_provider(client, "unverified:ada@council.example")
        event = AuditEvent.objects.filter(action="auth.login_failed").latest("seq")
        assert event.object_ref == "ada@council.example" and "test-council" in event.agencies

    def test_the_provider_alone_never_creates_an_account(self, client, sso):
        users_before = get_user_model().objects.count()
        response = sign_in_through_provider(client, "stranger@elsewhere.example")
        assert response["Location"] == "/accounts/login/?sso=failed"
        assert get_user_model().objects.count() == users_before
        assert signed_in_as(client) is None
        assert "Ask your agency administrator to invite you" in client.get(response["Location"]).text
        assert AuditEvent.objects.filter(action="auth.login_failed", object_ref="stranger@elsewhere.example").exists()

    def test_a_switched_off_account_is_refused(self, client, sso):
        UserFactory(username="leaver", email="leaver@council.example", is_active=False)
        response = sign_in_through_provider(client, "leaver@council.example")
        assert signed_in_as(client) is None
        assert "has been switched off" in client.get(response["Location"]).text

    def test_two_accounts_with_one_email_sign_neither_in(self, client, sso):
        UserFactory(username="twin-a", email="twin@council.example")
        UserFactory(username="twin-b", email="TWIN@council.example")
        response = sign_in_through_provider(client, "twin@council.example")
        assert signed_in_as(client) is None
        assert "More than one account" in client.get(response["Location"]).text

    def test_a_pending_invitation_is_accepted_through_the_hook(self, client, sso, settings):
        settings.OIDC_INVITATION_HOOK = "tests.sso.invitations.accept"
        response = sign_in_through_provider(client, "newcomer@council.example")
        assert response["Location"] == "/"
        user = get_user_model().objects.get(pk=signed_in_as(client))
        assert user.email == "newcomer@council.example"
        assert user.get_full_name() == "Newcomer"

    def test_repeated_failures_do_not_lock_the_address_out_of_single_sign_on(self, client, sso, settings):
        UserFactory(username="ada", email="ada@council.example")
        for _ in range(settings.AXES_FAILURE_LIMIT + 1):
            sign_in_through_provider(client, "stranger@elsewhere.example")
        sign_in_through_provider(client, "ada@council.example")
        assert signed_in_as(client) is not None

    def test_a_password_sign_in_never_reaches_the_provider(self, client, sso):
        UserFactory(username="ada", email="ada@council.example")
        response = client.post("/accounts/login/?code=x&state=y", {"username": "ada", "password": "wrong"})
        assert response.status_code == 200 and signed_in_as(client) is None

    def test_the_sign_in_page_offers_it_only_when_configured(self, client, sso, settings):
        assert "Sign in with Test Council account" in client.get("/accounts/login/").text
        settings.OIDC_ISSUER = ""
        assert "Sign in with" not in client.get("/accounts/login/").text
        assert client.get("/oidc/authenticate/").status_code == 404

    def test_an_unreachable_provider_is_explained(self, client, sso, settings):
        from django.core.cache import cache

        cache.clear()
        settings.OIDC_ISSUER = "http://127.0.0.1:9"
        response = client.get("/oidc/authenticate/")
        assert response["Location"] == "/accounts/login/?sso=failed"
        assert "Signing in through your organisation did not work" in client.get(response["Location"]).text

    def test_a_provider_that_names_another_issuer_is_not_trusted(self, client, sso, settings):
        # The same server reached by another name: its discovery document names its real issuer.
        settings.OIDC_ISSUER = sso.issuer.replace("127.0.0.1", "localhost")
        response = client.get("/oidc/authenticate/")
        assert response["Location"] == "/accounts/login/?sso=failed"
        assert signed_in_as(client) is None
