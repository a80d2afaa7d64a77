"""Forgotten and changed passwords: GOV.UK pages over Django's views, throttled, audited, one answer for any address."""

import re

import pytest
from django.test import Client

from accounts.selectors import display_name, job_title
from accounts.services import user_create, user_profile_update
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory, api_key, token_works

NEW_PASSWORD = "lantern-orchard-quietly-71"
LINK = re.compile(r"http://[^/\s]+(/accounts/reset/[^\s]+/)")


pytestmark = pytest.mark.usefixtures("mail_in_process")


def ask_reset(client, email, capture, **extra):
    with capture(execute=True):
        return client.post("/accounts/password_reset/", {"email": email}, **extra)


@pytest.mark.django_db
class PasswordResetTests:
    def test_a_known_address_gets_a_link_that_sets_a_new_password_once(self, mailoutbox,
                                                                       django_capture_on_commit_callbacks):
        user = UserFactory(username="asha", email="asha@example.org")
        key = api_key(user)
        client = Client()
        form = client.get("/accounts/password_reset/").content.decode()
        assert "Reset your password" in form and 'for="id_email"' in form
        response = ask_reset(client, "asha@example.org", django_capture_on_commit_callbacks)
        assert response["Location"] == "/accounts/password_reset/done/"
        assert len(mailoutbox) == 1 and mailoutbox[0].to == ["asha@example.org"]
        assert mailoutbox[0].alternatives[0][1] == "text/html"
        path = LINK.search(mailoutbox[0].body).group(1)
        page = client.get(path, follow=True)
        assert "Choose a new password" in page.content.decode()
        set_url = page.redirect_chain[-1][0]
        weak = client.post(set_url, {"new_password1": "password", "new_password2": "password"})
        assert weak.status_code == 200 and "This password is too common." in weak.content.decode()
        done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)
        assert "Your password has been changed" in done.content.decode()
        assert Client().login(username="asha", password=NEW_PASSWORD)
        assert "This link does not work" in Client().get(path, follow=True).content.decode()
        stages = [(e.detail["stage"], e.object_ref) for e in
                  AuditEvent.objects.filter(action=AuditAction.AUTH_PASSWORD_RESET).order_by("seq")]
        assert stages == [("requested", "asha"), ("completed", "asha")]
        completed = AuditEvent.objects.filter(action=AuditAction.AUTH_PASSWORD_RESET).latest("seq")
        assert completed.actor_name == "asha" and not token_works(key)
        assert not AuditEvent.objects.filter(action=AuditAction.AUTH_PASSWORD_CHANGED).exists()

    def test_regression_password_resets_leave_no_event(self, mailoutbox, django_capture_on_commit_callbacks):
        UserFactory(username="asha", email="asha@example.org")
        client = Client()
        ask_reset(client, "asha@example.org", django_capture_on_commit_callbacks)
        set_url = client.get(LINK.search(mailoutbox[0].body).group(1), follow=True).redirect_chain[-1][0]
        client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        completed = AuditEvent.objects.get(action=AuditAction.AUTH_PASSWORD_RESET, detail__stage="completed")
        assert (completed.object_ref, completed.actor_name) == ("asha", "asha")

    def test_a_reset_lifts_the_sign_in_lockout_of_that_account(self, settings, mailoutbox,
                                                               django_capture_on_commit_callbacks):
        from axes.models import AccessAttempt

        UserFactory(username="asha", email="asha@example.org")
        AccessAttempt.objects.create(username="asha", ip_address="203.0.113.5", user_agent="x",
                                     failures_since_start=settings.AXES_FAILURE_LIMIT)
        client = Client()
        ask_reset(client, "asha@example.org", django_capture_on_commit_callbacks)
        set_url = client.get(LINK.search(mailoutbox[0].body).group(1), follow=True).redirect_chain[-1][0]
        client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        assert not AccessAttempt.objects.filter(username="asha").exists()
        lifted = AuditEvent.objects.get(action=AuditAction.AUTH_LOCKOUT_RESET)
        assert (lifted.object_ref, lifted.actor_name) == ("asha", "asha")
        assert Client().post("/accounts/login/", {"username": "asha", "password": NEW_PASSWORD},
                             REMOTE_ADDR="203.0.113.5").status_code == 302

    def test_an_unknown_address_gets_the_same_answer_and_no_email(self, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
        UserFactory(username="asha", email="asha@example.org")
        known = ask_reset(Client(), "asha@example.org", django_capture_on_commit_callbacks)
        unknown = ask_reset(Client(), "nobody@example.org", django_capture_on_commit_callbacks)
        assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
        assert len(mailoutbox) == 1
        event = AuditEvent.objects.filter(action=AuditAction.AUTH_PASSWORD_RESET).latest("seq")
        assert (event.detail["email"], event.detail["accounts"]) == ("nobody@example.org", 0)

    def test_asking_too_often_for_one_address_sends_no_more_but_answers_the_same(
            self, settings, mailoutbox, django_capture_on_commit_callbacks):
        settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
        UserFactory(username="asha", email="asha@example.org")
        answers = [ask_reset(Client(), "asha@example.org", django_capture_on_commit_callbacks,
                             REMOTE_ADDR=f"198.51.100.{n}")["Location"] for n in range(4)]
        assert set(answers) == {"/accounts/password_reset/done/"}
        assert len(mailoutbox) == 2
        assert AuditEvent.objects.filter(action=AuditAction.AUTH_PASSWORD_RESET,
                                         detail__throttled=True).count() == 2

    def test_too_many_requests_from_one_client_are_refused_with_429(self, settings, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
        settings.PASSWORD_RESET_LIMIT_PER_CLIENT = 3
        client = Client()
        statuses = [ask_reset(client, f"person{n}@example.org", django_capture_on_commit_callbacks).status_code
                    for n in range(5)]
        assert statuses == [302, 302, 302, 429, 429]
        refused = ask_reset(client, "x@example.org", django_capture_on_commit_callbacks)
        assert "Too many requests to reset a password" in refused.content.decode() and refused["Retry-After"]

    def test_bad_input_is_shown_on_the_form(self, db):
        response = Client().post("/accounts/password_reset/", {"email": "not an address"})
        assert response.status_code == 200
        assert "Enter an email address in the correct format" in response.content.decode()


@pytest.mark.django_db
class PasswordChangeTests:
    def test_changing_a_password_is_audited_and_revokes_tokens(self):
        user = UserFactory(username="asha")
        key = api_key(user)
        client = Client()
        client.force_login(user)
        wrong = client.post("/accounts/password_change/", {"old_password": "guess", "new_password1": NEW_PASSWORD,
                                                           "new_password2": NEW_PASSWORD})
        assert "Your current password is not right" in wrong.content.decode()
        assert NEW_PASSWORD not in wrong.content.decode() and "guess" not in wrong.content.decode()
        done = client.post("/accounts/password_change/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                          "new_password2": NEW_PASSWORD}, follow=True)
        assert "Your password has been changed" in done.content.decode()
        assert client.get("/").status_code == 200  # still signed in here
        event = AuditEvent.objects.get(action=AuditAction.AUTH_PASSWORD_CHANGED)
        assert event.actor_name == "asha" and not token_works(key)


@pytest.mark.django_db
class ProfileTests:
    def test_display_name_and_job_title_are_easy_to_reach_from_a_user(self):
        user = user_create(username="grace", email="grace@example.org", full_name="  Grace   Hopper ",
                           job_title="Caldicott Guardian")
        assert (display_name(user), job_title(user)) == ("Grace Hopper", "Caldicott Guardian")
        plain = UserFactory(username="plain", first_name="Ada", last_name="Lovelace")
        assert (display_name(plain), job_title(plain)) == ("Ada Lovelace", "")
        assert display_name(UserFactory(username="bare")) == "bare"

    def test_a_profile_change_records_old_and_new_values(self):
        user = user_create(username="grace", full_name="Grace Hopper")
        assert user_profile_update(user=user, job_title="DPO")
        assert not user_profile_update(user=user, job_title="DPO")
        event = AuditEvent.objects.get(action=AuditAction.USER_UPDATED)
        assert event.detail["changes"] == {"job_title": ["", "DPO"]}


@pytest.mark.django_db
class DashboardNameTests:
    def test_regression_the_dashboard_names_people_by_username(self):
        person = UserFactory(username="asha.patel@example.org")
        user_profile_update(user=person, full_name="Asha Patel", job_title="Social Worker")
        client = Client()
        client.force_login(person)
        text = client.get("/").content.decode()
        assert "You are signed in as <strong>Asha Patel</strong> (asha.patel@example.org)." in text
