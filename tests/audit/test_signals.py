"""Sign-in auditing through the real /accounts/login/ view."""

import pytest

from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory


@pytest.mark.django_db
class SignInTests:
    def test_a_sign_in_is_recorded_with_the_user_as_actor(self, client):
        user = UserFactory(username="ada")
        response = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD},
                               HTTP_USER_AGENT="Firefox", REMOTE_ADDR="192.0.2.10")
        assert response.status_code == 302
        event = AuditEvent.objects.get(action="auth.login")
        assert (event.actor, event.actor_name, event.object_ref) == (user, "ada", "ada")
        assert event.client_ip == "192.0.2.10"
        assert event.request_id == response["X-Request-ID"]

    def test_a_failed_sign_in_records_the_attempted_username_but_never_the_password(self, client):
        UserFactory(username="ada")
        response = client.post("/accounts/login/", {"username": "ada", "password": "wrong-guess-123"})
        assert response.status_code == 200  # the form again, with an error
        event = AuditEvent.objects.get(action="auth.login_failed")
        assert (event.actor, event.actor_name, event.object_ref) == (None, "anonymous", "ada")
        assert event.detail["username"] == "ada"
        row = str(AuditEvent.objects.filter(seq=event.seq).values().get())
        assert "wrong-guess-123" not in row and "password" not in row

    def test_a_failed_sign_in_for_an_unknown_user_is_recorded_too(self, client):
        client.post("/accounts/login/", {"username": "mallory", "password": "x"})
        assert AuditEvent.objects.get(action="auth.login_failed").object_ref == "mallory"

    def test_signing_out_is_recorded(self, client):
        user = UserFactory(username="ada")
        client.force_login(user)
        client.post("/accounts/logout/")
        event = AuditEvent.objects.get(action="auth.logout")
        assert (event.actor, event.actor_name) == (user, "ada")
