"""Invitations: an agency admin invites someone by email; the link works once, for 7 days; the person joins."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from accounts.selectors import display_name, job_title
from agencies import selectors, services
from agencies.models import Invitation
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.clients import token_api

NEW_PASSWORD = "lantern-orchard-quietly-71"
LINK = re.compile(r"http://[^/\s]+(/invitations/[^/\s]+/)")


pytestmark = pytest.mark.usefixtures("mail_in_process")


def invite(region, django_capture_on_commit_callbacks, **overrides):
    values = {"email": "asha.patel@example.org", "full_name": "Asha Patel", "job_title": "Data Protection Lead",
              "role": "governance_officer", **overrides}
    with django_capture_on_commit_callbacks(execute=True):
        return services.invitation_create(actor=region.users["home_admin"], agency=region.home, **values)


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def events(action) -> list:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.mark.django_db
class InvitationServiceTests:
    def test_an_invitation_is_emailed_after_commit_with_a_one_time_link(self, region, mailoutbox,
                                                                         django_capture_on_commit_callbacks):
        invitation = invite(region, django_capture_on_commit_callbacks)
        assert len(mailoutbox) == 1
        message = mailoutbox[0]
        assert message.to == ["asha.patel@example.org"]
        assert message.subject == "You are invited to join Home City Council on the Sharing Registry"
        assert "Dear Asha Patel" in message.body and "governance officer in Home City Council" in message.body
        html = message.alternatives[0][0]
        assert link_in(message) in html  # the HTML body carries the same link
        invitation.refresh_from_db()
        token = link_in(message).split("/")[2]
        assert token not in (invitation.token_hash or "")  # only the hash is kept
        assert invitation.token_hash == selectors.invitation_token_hash(token)
        assert invitation.expires_at - timezone.now() > dt.timedelta(days=6, hours=23)
        event = events(AuditAction.MEMBERSHIP_INVITED)[0]
        assert (event.actor_name, event.agency_code) == ("home-admin", "home-council")
        assert event.detail["email"] == "asha.patel@example.org" and event.detail["role"] == "governance_officer"
        assert token not in str(event.detail)

    def test_nothing_is_sent_when_the_invitation_does_not_commit(self, region, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
        from django.db import transaction

        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):  # noqa: PT012
            with transaction.atomic():
                services.invitation_create(actor=region.users["home_admin"], agency=region.home,
                                           email="x@example.org", full_name="X", role="frontline")
                raise RuntimeError("rolled back")
        assert mailoutbox == [] and not Invitation.objects.exists()

    def test_accepting_creates_the_account_and_the_membership_once(self, region, mailoutbox,
                                                                   django_capture_on_commit_callbacks):
        invite(region, django_capture_on_commit_callbacks)
        token = link_in(mailoutbox[0]).split("/")[2]
        user, invitation = services.invitation_accept(token=token, password=NEW_PASSWORD)
        assert user.get_username() == "asha.patel@example.org" and user.check_password(NEW_PASSWORD)
        assert (display_name(user), job_title(user)) == ("Asha Patel", "Data Protection Lead")
        assert selectors.has_role(user, region.home.pk, "governance_officer")
        assert invitation.accepted_by == user and invitation.token_hash is None
        created = AuditEvent.objects.filter(action=AuditAction.USER_CREATED, object_ref="asha.patel@example.org")
        granted = events(AuditAction.MEMBERSHIP_GRANTED)
        assert created.get().detail["job_title"] == "Data Protection Lead"
        assert [(e.actor_name, e.detail["role"]) for e in granted] == [("asha.patel@example.org",
                                                                        "governance_officer")]
        with pytest.raises(ValidationError, match="expired, has been used, or has been cancelled"):
            services.invitation_accept(token=token, password=NEW_PASSWORD)

    def test_the_password_must_pass_djangos_validators(self, region, mailoutbox,
                                                       django_capture_on_commit_callbacks):
        invite(region, django_capture_on_commit_callbacks)
        token = link_in(mailoutbox[0]).split("/")[2]
        with pytest.raises(ValidationError, match="too common|too short"):
            services.invitation_accept(token=token, password="password")
        assert not get_user_model().objects.filter(email="asha.patel@example.org").exists()
        assert not events(AuditAction.MEMBERSHIP_GRANTED)

    def test_a_link_older_than_7_days_does_not_work(self, region, mailoutbox, django_capture_on_commit_callbacks):
        invitation = invite(region, django_capture_on_commit_callbacks)
        token = link_in(mailoutbox[0]).split("/")[2]
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        with pytest.raises(ValidationError):
            services.invitation_accept(token=token, password=NEW_PASSWORD)

    def test_resending_sends_a_new_link_and_the_old_one_stops_working(self, region, mailoutbox,
                                                                      django_capture_on_commit_callbacks):
        invitation = invite(region, django_capture_on_commit_callbacks)
        old = link_in(mailoutbox[0]).split("/")[2]
        with django_capture_on_commit_callbacks(execute=True):
            services.invitation_resend(actor=region.users["home_admin"], invitation=invitation)
        new = link_in(mailoutbox[1]).split("/")[2]
        assert old != new
        assert selectors.invitation_by_token(token=old) is None
        assert selectors.invitation_by_token(token=new).pk == invitation.pk
        assert len(events(AuditAction.INVITATION_RESENT)) == 1

    def test_cancelling_stops_the_link_and_is_audited(self, region, mailoutbox, django_capture_on_commit_callbacks):
        invitation = invite(region, django_capture_on_commit_callbacks)
        token = link_in(mailoutbox[0]).split("/")[2]
        services.invitation_cancel(actor=region.users["home_admin"], invitation=invitation)
        assert selectors.invitation_by_token(token=token) is None
        assert not selectors.invitation_list(agency=region.home).exists()
        assert events(AuditAction.INVITATION_CANCELLED)[0].detail["email"] == "asha.patel@example.org"

    def test_only_the_agencys_admins_may_invite(self, region):
        for actor in ("home_officer", "other_admin"):
            with pytest.raises(PermissionDenied):
                services.invitation_create(actor=region.users[actor], agency=region.home, email="a@example.org",
                                           full_name="A", role="frontline")
        assert not Invitation.objects.exists()

    def test_the_same_address_cannot_be_invited_twice_while_pending(self, region, django_capture_on_commit_callbacks):
        invite(region, django_capture_on_commit_callbacks)
        with pytest.raises(ValidationError, match="already been invited"):
            invite(region, django_capture_on_commit_callbacks, email="Asha.Patel@example.org")

    def test_an_admin_cannot_invite_themselves(self, region):
        admin = region.users["home_admin"]
        with pytest.raises(PermissionDenied, match="cannot invite yourself"):
            services.invitation_create(actor=admin, agency=region.home, email=admin.email, full_name="Me",
                                       role="auditor")

    def test_someone_with_an_account_accepts_while_signed_in(self, region, mailoutbox,
                                                             django_capture_on_commit_callbacks):
        officer = region.users["other_officer"]
        invite(region, django_capture_on_commit_callbacks, email=officer.email, role="auditor")
        token = link_in(mailoutbox[0]).split("/")[2]
        with pytest.raises(ValidationError, match="Sign in with it"):
            services.invitation_accept(token=token, password=NEW_PASSWORD)
        with pytest.raises(PermissionDenied):
            services.invitation_accept(token=token, user=region.users["home_officer"])
        services.invitation_accept(token=token, user=officer)
        assert selectors.has_role(officer, region.home.pk, "auditor")
        assert get_user_model().objects.filter(email=officer.email).count() == 1


@pytest.mark.django_db
class InvitationPageTests:
    def test_an_admin_invites_from_the_members_page_and_sees_it_pending(self, region, mailoutbox,
                                                                        django_capture_on_commit_callbacks):
        client = Client()
        client.force_login(region.users["home_admin"])
        form = client.get("/agencies/home-council/invitations/new/")
        assert form.status_code == 200 and "Invite someone" in form.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/agencies/home-council/invitations/new/", {
                "name": "Asha Patel", "job_title": "DPO", "email": "asha@example.org", "role": "auditor"},
                follow=True)
        content = response.content.decode()
        assert "Invitation sent to Asha Patel at asha@example.org" in content
        assert "Pending invitations" in content and "asha@example.org" in content
        assert len(mailoutbox) == 1

    def test_bad_input_is_summarised_and_nothing_is_sent(self, region, mailoutbox):
        client = Client()
        client.force_login(region.users["home_admin"])
        response = client.post("/agencies/home-council/invitations/new/", {"email": "not-an-address", "role": ""})
        content = response.content.decode()
        assert response.status_code == 400
        assert "Enter an email address in the correct format" in content
        assert "Enter the person&#x27;s full name" in content
        assert not Invitation.objects.exists() and mailoutbox == []

    def test_the_link_page_sets_a_password_and_sends_to_sign_in(self, region, mailoutbox,
                                                               django_capture_on_commit_callbacks):
        invite(region, django_capture_on_commit_callbacks)
        path = link_in(mailoutbox[0])
        client = Client()
        page = client.get(path).content.decode()
        assert "Join Home City Council" in page and "asha.patel@example.org" in page
        mismatch = client.post(path, {"password1": NEW_PASSWORD, "password2": "different-words-here-1"})
        assert mismatch.status_code == 400 and "The two passwords do not match." in mismatch.content.decode()
        weak = client.post(path, {"password1": "password", "password2": "password"})
        assert weak.status_code == 400 and "This password is too common." in weak.content.decode()
        response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True)
        assert "Your account is ready" in response.content.decode()
        assert client.login(username="asha.patel@example.org", password=NEW_PASSWORD)
        assert client.get(path).status_code == 404  # used

    def test_a_wrong_link_says_what_to_do(self, region):
        response = Client().get("/invitations/not-a-real-token/")
        assert response.status_code == 404
        assert "Ask the administrator who invited you" in response.content.decode()

    def test_resend_and_cancel_are_buttons_on_the_members_page(self, region, mailoutbox,
                                                               django_capture_on_commit_callbacks):
        invitation = invite(region, django_capture_on_commit_callbacks)
        client = Client()
        client.force_login(region.users["home_admin"])
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/agencies/home-council/invitations/{invitation.pk}/resend/")
        assert len(mailoutbox) == 2
        client.post(f"/agencies/home-council/invitations/{invitation.pk}/cancel/")
        invitation.refresh_from_db()
        assert invitation.cancelled_at is not None
        other = Client()
        other.force_login(region.users["other_admin"])
        assert other.post(f"/agencies/home-council/invitations/{invitation.pk}/resend/").status_code == 403


@pytest.mark.django_db
class InvitationApiTests:
    URL = "/api/v1/agencies/home-council/invitations/"

    def test_anonymous_is_401(self, region):
        assert token_api().get(self.URL).status_code == 401

    def test_unknown_agency_is_404(self, region):
        assert token_api(region.users["home_admin"]).get("/api/v1/agencies/nowhere/invitations/").status_code == 404

    @pytest.mark.parametrize("actor", ["other_admin", "home_officer", "home_auditor"])
    def test_only_admins_of_the_agency(self, region, actor):
        client = token_api(region.users[actor])
        assert client.get(self.URL).status_code == 403
        assert client.post(self.URL, {"email": "a@example.org", "name": "A", "role": "auditor"}).status_code == 403

    def test_an_admin_invites_and_lists(self, region, mailoutbox, django_capture_on_commit_callbacks,
                                        django_assert_max_num_queries):
        client = token_api(region.users["home_admin"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.URL, {"email": "asha@example.org", "name": "Asha Patel", "role": "auditor"})
        assert response.status_code == 201
        body = response.json()
        assert (body["email"], body["name"], body["role"], body["invited_by"]) == (
            "asha@example.org", "Asha Patel", "auditor", "home-admin")
        assert "token" not in str(body).lower()
        assert len(mailoutbox) == 1
        with django_assert_max_num_queries(8):
            listed = client.get(self.URL).json()
        assert [row["email"] for row in listed["results"]] == ["asha@example.org"]

    def test_bad_input_is_400_with_field_errors(self, region):
        response = token_api(region.users["home_admin"]).post(self.URL, {"email": "nope", "role": "king"})
        assert response.status_code == 400
        assert set(response.json()) == {"email", "name", "role"}
        assert not Invitation.objects.exists()


@pytest.mark.django_db
class SingleSignOnInvitationTests:
    """The hook single sign-on calls with an email its identity provider has verified."""

    def test_a_verified_email_accepts_its_pending_invitations(self, region, django_capture_on_commit_callbacks):
        invite(region, django_capture_on_commit_callbacks)
        user = services.invitation_accept_for_sso(email="Asha.Patel@example.org", name="A. Patel", request=None)
        assert user.get_username() == "asha.patel@example.org" and not user.has_usable_password()
        assert (display_name(user), job_title(user)) == ("Asha Patel", "Data Protection Lead")
        assert selectors.has_role(user, region.home.pk, "governance_officer")
        assert not selectors.invitation_list(agency=region.home).exists()
        assert events(AuditAction.MEMBERSHIP_GRANTED)[0].detail["via"] == "single sign-on"

    def test_no_invitation_or_an_existing_account_means_no_one(self, region, django_capture_on_commit_callbacks):
        assert services.invitation_accept_for_sso(email="stranger@example.org", name="", request=None) is None
        invite(region, django_capture_on_commit_callbacks, email=region.users["other_officer"].email)
        assert services.invitation_accept_for_sso(email=region.users["other_officer"].email, name="",
                                                  request=None) is None
        assert get_user_model().objects.filter(email=region.users["other_officer"].email).count() == 1
