"""Regressions found by an attacker in people management: a username oracle in the members API, other agencies'
memberships disclosed, leavers revived by another agency's admin, old sessions revived with the account, and
events about a person that their agency's auditors could not see."""

from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client

from agencies import selectors, services
from agencies.choices import Role
from agencies.models import Agency
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.clients import page as browser
from tests.clients import token_api
from tests.factories import PASSWORD, UserFactory, api_key, member, token_works

MEMBERS = "/agencies/home-council/members/"
API_MEMBERS = "/api/v1/agencies/home-council/members/"
OTHER_API_MEMBERS = "/api/v1/agencies/other-trust/members/"


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    assert client.get("/").status_code == 200
    return client


def session_works(client: Client) -> bool:
    return client.get("/").status_code == 200


def auditor_sees(auditor, action: str, object_ref: str | None = None) -> bool:
    """Whether `action` (about `object_ref`) is in the auditor's own list of events, through the API."""
    rows = token_api(auditor).get("/api/v1/audit/events/", {"action": action, "page_size": 500}).json()["results"]
    return any(object_ref is None or row["object_ref"] == object_ref for row in rows)


@pytest.mark.django_db
class MembersApiOracleTests:
    """The members API told anyone who could add members whether a username existed, and where its owner worked."""

    def test_regression_the_api_answers_the_same_for_unknown_and_existing_usernames(self, region):
        UserFactory(username="lone-user")  # an account in no agency
        client = token_api(region.users["home_admin"])
        answers = [client.post(API_MEMBERS, {"username": username, "role": "auditor"})
                   for username in ("nobody-at-all", "other-officer", "lone-user")]
        assert {answer.status_code for answer in answers} == {400}
        assert answers[0].json() == answers[1].json() == answers[2].json()
        assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED).count() == 0

    def test_regression_the_api_and_page_do_not_name_another_agency(self, region):
        client = token_api(region.users["home_admin"])
        body = {"username": "other-officer", "email": "other-officer@example.org", "role": "auditor"}
        asked = client.post(API_MEMBERS, body)
        assert asked.status_code == 400 and "another agency" in asked.json()["confirm"][0]
        page = browser(region.users["home_admin"]).post(MEMBERS, body)
        assert page.status_code == 409
        for answer in (asked, page):
            assert "Other NHS Trust" not in answer.content.decode() and "other-trust" not in answer.content.decode()

    def test_a_wrong_email_answers_as_an_unknown_username_does(self, region):
        client = token_api(region.users["home_admin"])
        wrong = client.post(API_MEMBERS, {"username": "other-officer", "email": "guess@example.org", "role": "auditor"})
        unknown = client.post(API_MEMBERS, {"username": "nobody", "email": "guess@example.org", "role": "auditor"})
        assert wrong.status_code == unknown.status_code == 400 and wrong.json() == unknown.json()

    def test_the_contract_body_still_adds_a_role_to_a_member_and_a_superuser_may_name_anyone(self, region):
        added = token_api(region.users["home_admin"]).post(API_MEMBERS, {"username": "home-frontline",
                                                                          "role": "auditor"})
        assert added.status_code == 201 and added.json()["granted"] is True
        UserFactory(username="lone-user")
        by_root = token_api(region.users["superuser"]).post(API_MEMBERS, {"username": "lone-user",
                                                                           "role": "frontline"})
        assert by_root.status_code == 201
        with_email = token_api(region.users["home_admin"]).post(
            API_MEMBERS, {"username": "other-officer", "email": "other-officer@example.org", "role": "auditor",
                          "confirm": True})
        assert with_email.status_code == 201


@pytest.mark.django_db
class ReactivationTests:
    """Another agency's admin could switch a leaver's account back on, and the event reached only their agency."""

    def leave(self, region, username="home-frontline"):
        services.membership_leave(actor=region.users["home_admin"], agency=region.home, username=username)
        person = get_user_model().objects.get(username=username)
        assert not person.is_active
        return person

    def test_regression_another_agencys_admin_can_reactivate_a_leaver(self, region):
        person = self.leave(region)
        body = {"username": "home-frontline", "email": person.email, "role": "frontline", "confirm": True}
        api = token_api(region.users["other_admin"]).post(OTHER_API_MEMBERS, body)
        assert api.status_code == 403 and "switched off" in api.json()["detail"]
        page = browser(region.users["other_admin"]).post("/agencies/other-trust/members/", {**body, "confirm": "on"})
        assert page.status_code == 403
        with pytest.raises(PermissionDenied):
            services.membership_add(actor=region.users["other_admin"], agency=region.other, username="home-frontline",
                                    email=person.email, role=Role.FRONTLINE, confirm=True)
        person.refresh_from_db()
        assert not person.is_active
        assert not selectors.user_agency_ids(person)
        assert not AuditEvent.objects.filter(action=AuditAction.USER_REACTIVATED).exists()

    def test_regression_adding_a_leaver_revives_them_without_asking(self, region):
        person = self.leave(region)
        body = {"username": "home-frontline", "email": person.email, "role": "frontline"}
        asked = token_api(region.users["home_admin"]).post(API_MEMBERS, body)
        assert asked.status_code == 400 and "switched off" in asked.json()["confirm"][0]
        page = browser(region.users["home_admin"]).post(MEMBERS, body)
        assert page.status_code == 409 and "account is switched off" in page.content.decode()
        person.refresh_from_db()
        assert not person.is_active
        assert token_api(region.users["home_admin"]).post(API_MEMBERS, {**body, "confirm": True}).status_code == 201
        person.refresh_from_db()
        assert person.is_active

    def test_the_admin_of_the_agency_they_left_or_a_superuser_may(self, region):
        person = self.leave(region)
        services.membership_add(actor=region.users["superuser"], agency=region.other, username="home-frontline",
                                role=Role.AUDITOR, confirm=True)
        person.refresh_from_db()
        assert person.is_active
        event = AuditEvent.objects.get(action=AuditAction.USER_REACTIVATED)
        assert {"home-council", "other-trust"} <= set(event.agencies)

    def test_regression_user_reactivated_is_filed_only_under_the_admins_agency(self, region):
        # Someone in both agencies, switched off by a superuser in the Django admin, then given a role again by
        # an admin of one of them: the other agency's auditors must see it too.
        person = region.users["home_frontline"]
        member(region.other, Role.AUDITOR, "home-frontline")
        root = browser(region.users["superuser"])
        change = f"/admin/auth/user/{person.pk}/change/"
        form = {"username": "home-frontline", "email": person.email, "first_name": "", "last_name": "",
                "is_staff": "", "is_superuser": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
                "profile-TOTAL_FORMS": "1", "profile-INITIAL_FORMS": "0", "profile-MIN_NUM_FORMS": "0",
                "profile-MAX_NUM_FORMS": "1", "profile-0-full_name": "", "profile-0-job_title": ""}
        assert root.post(change, form).status_code == 302
        person.refresh_from_db()
        assert not person.is_active
        services.membership_add(actor=region.users["home_admin"], agency=region.home, username="home-frontline",
                                role=Role.AUDITOR, confirm=True)
        event = AuditEvent.objects.get(action=AuditAction.USER_REACTIVATED)
        assert {"home-council", "other-trust"} <= set(event.agencies)
        other_auditor = member(region.other, Role.AUDITOR, "other-auditor")
        assert auditor_sees(other_auditor, "user.reactivated", "home-frontline")
        assert auditor_sees(region.users["home_auditor"], "user.reactivated", "home-frontline")

    def test_the_add_member_command_does_not_revive_silently(self, region):
        self.leave(region)
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="switched off"):
            call_command("add_member", "home-frontline", "other-trust", "frontline", stdout=StringIO())
        assert not get_user_model().objects.get(username="home-frontline").is_active
        out = StringIO()
        call_command("add_member", "home-frontline", "other-trust", "frontline", "--reactivate", stdout=out)
        assert get_user_model().objects.get(username="home-frontline").is_active
        assert "switched back on" in out.getvalue()
        event = AuditEvent.objects.get(action=AuditAction.USER_REACTIVATED)
        assert {"home-council", "other-trust"} <= set(event.agencies)


@pytest.mark.django_db
class SessionsEndTests:
    """Switching an account off left its sessions in the database; switching it back on revived every one."""

    def test_regression_a_leavers_old_session_works_again_after_reactivation(self, region):
        first, second = signed_in("home-frontline"), signed_in("home-frontline")
        services.membership_leave(actor=region.users["home_admin"], agency=region.home, username="home-frontline")
        services.membership_add(actor=region.users["home_admin"], agency=region.home, username="home-frontline",
                                email="home-frontline@example.org", role=Role.FRONTLINE, confirm=True)
        assert get_user_model().objects.get(username="home-frontline").is_active
        assert not session_works(first) and not session_works(second)
        assert session_works(signed_in("home-frontline"))  # signing in again works
        deactivated = AuditEvent.objects.get(action=AuditAction.USER_DEACTIVATED)
        assert deactivated.detail["sessions_ended"] == 2

    def test_regression_switching_off_in_the_admin_leaves_sessions_to_come_back(self, region):
        old = signed_in("home-frontline")
        person = get_user_model().objects.get(username="home-frontline")
        person.is_active = False
        person.save()  # the Django admin, a shell, a script
        person.is_active = True
        person.save()
        assert not session_works(old)

    def test_regression_removing_the_last_role_through_the_api_leaves_sessions(self, region):
        old = signed_in("home-frontline")
        key = api_key(region.users["home_frontline"])
        removed = token_api(region.users["home_admin"]).delete(API_MEMBERS + "?username=home-frontline&role=frontline")
        assert removed.status_code == 204
        services.membership_add(actor=None, agency=region.home, username="home-frontline", role=Role.FRONTLINE,
                                confirm=True)
        assert not session_works(old) and not token_works(key)

    def test_other_peoples_sessions_are_untouched(self, region):
        bystander = signed_in("home-officer")
        services.membership_leave(actor=region.users["home_admin"], agency=region.home, username="home-frontline")
        assert session_works(bystander)


@pytest.mark.django_db
class SubjectAgenciesTests:
    """Events about a person lacked that person's agencies, so their agency's auditors never saw them."""

    def test_regression_failed_sign_ins_are_hidden_from_the_persons_auditors(self, region):
        assert Client().post("/accounts/login/", {"username": "home-frontline", "password": "wrong"}).status_code == 200
        assert auditor_sees(region.users["home_auditor"], "auth.login_failed", "home-frontline")
        other_auditor = member(region.other, Role.AUDITOR, "other-auditor")
        assert not auditor_sees(other_auditor, "auth.login_failed", "home-frontline")

    def test_regression_lockout_resets_are_hidden_from_the_persons_auditors(self, region, settings):
        AccessAttempt.objects.create(username="home-frontline", ip_address="203.0.113.5", user_agent="x",
                                     failures_since_start=settings.AXES_FAILURE_LIMIT)
        call_command("axes_reset", verbosity=0)
        assert auditor_sees(region.users["home_auditor"], "auth.lockout_reset", "home-frontline")

    def test_regression_command_made_tokens_are_hidden_from_the_persons_auditors(self, region):
        call_command("drf_create_token", "home-frontline", stdout=StringIO(), stderr=StringIO())
        assert auditor_sees(region.users["home_auditor"], "token.created")
        call_command("drf_create_token", "home-frontline", "--reset", stdout=StringIO(), stderr=StringIO())
        assert auditor_sees(region.users["home_auditor"], "token.revoked")

    def test_tokens_ended_by_a_leaver_reach_the_auditors_of_the_agency_they_left(self, region):
        from tokens.services import token_create

        token_create(actor=None, user=region.users["home_frontline"], name="Case system")
        services.membership_leave(actor=region.users["home_admin"], agency=region.home, username="home-frontline")
        assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).count() == 1
        assert auditor_sees(region.users["home_auditor"], "token.revoked")

    def test_regression_user_created_by_an_invitation_is_hidden_from_its_agencys_auditors(
            self, region, settings, django_capture_on_commit_callbacks, mailoutbox):
        import re

        from tests.eager import eager_tasks

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            services.invitation_create(actor=region.users["home_admin"], agency=region.home,
                                       email="asha.patel@example.org", full_name="Asha Patel", role="frontline")
        token = re.search(r"/invitations/([^/\s]+)/", mailoutbox[0].body).group(1)
        services.invitation_accept(token=token, password="lantern-orchard-quietly-71")
        assert auditor_sees(region.users["home_auditor"], "user.created", "asha.patel@example.org")

    def test_regression_a_role_elsewhere_is_hidden_from_the_persons_own_auditors(self, region):
        services.membership_add(actor=region.users["other_admin"], agency=region.other, username="home-frontline",
                                email="home-frontline@example.org", role=Role.AUDITOR, confirm=True)
        assert auditor_sees(region.users["home_auditor"], "membership.granted", "other-trust:home-frontline:auditor")

    def test_regression_password_reset_requests_are_hidden_from_the_persons_auditors(self, region, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        response = Client().post("/accounts/password_reset/", {"email": "home-frontline@example.org"})
        assert response.status_code == 302
        assert auditor_sees(region.users["home_auditor"], "auth.password_reset", "home-frontline")


@pytest.mark.django_db
class SecondAttackTests:
    """Found by a second attacker after the fixes above."""

    def test_regression_a_role_change_inside_one_agency_reaches_another_agencys_auditors(self, region):
        # home-frontline also works for the other trust; the home council then changes their role at home.
        person = region.users["home_frontline"]
        other_auditor = member(region.other, Role.AUDITOR, "other-auditor")
        services.membership_add(actor=region.users["other_admin"], agency=region.other, username="home-frontline",
                                email="home-frontline@example.org", role=Role.FRONTLINE, confirm=True)
        services.membership_grant(agency=region.home, user=person, role=Role.AUDITOR)
        services.membership_revoke(agency=region.home, user=person, role=Role.AUDITOR)
        assert not auditor_sees(other_auditor, "membership.granted", "home-council:home-frontline:auditor")
        assert not auditor_sees(other_auditor, "membership.revoked", "home-council:home-frontline:auditor")
        assert auditor_sees(region.users["home_auditor"], "membership.granted", "home-council:home-frontline:auditor")

    def test_joining_and_leaving_an_agency_still_reach_the_persons_own_auditors(self, region):
        services.membership_add(actor=region.users["other_admin"], agency=region.other, username="home-frontline",
                                email="home-frontline@example.org", role=Role.FRONTLINE, confirm=True)
        services.membership_revoke(agency=region.other, user=region.users["home_frontline"], role=Role.FRONTLINE)
        assert auditor_sees(region.users["home_auditor"], "membership.granted", "other-trust:home-frontline:frontline")
        assert auditor_sees(region.users["home_auditor"], "membership.revoked", "other-trust:home-frontline:frontline")

    @pytest.mark.parametrize("name", ["Other NHS Trust", "  other nhs TRUST "])
    def test_regression_an_admin_can_give_their_agency_another_agencys_name(self, region, name):
        answer = token_api(region.users["home_admin"]).patch("/api/v1/agencies/home-council/", {"name": name},
                                                              format="json")
        assert answer.status_code == 400 and "already has this name" in answer.json()["name"][0]
        region.home.refresh_from_db()
        assert region.home.name == "Home City Council"

    def test_regression_a_new_agency_can_take_an_existing_name(self, region):
        answer = token_api(region.users["superuser"]).post("/api/v1/agencies/", {
            "code": "copycat", "name": "home city council", "kind": "local_authority"}, format="json")
        assert answer.status_code == 400 and "already has this name" in answer.json()["name"][0]
        assert not Agency.objects.filter(code="copycat").exists()

    def test_regression_a_mail_server_that_is_down_tells_a_reset_request_the_address_has_an_account(self, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
        UserFactory(username="known", email="known@example.org")
        known = Client(raise_request_exception=False).post("/accounts/password_reset/", {"email": "known@example.org"})
        unknown = Client(raise_request_exception=False).post("/accounts/password_reset/",
                                                             {"email": "unknown@example.org"})
        assert known.status_code == unknown.status_code == 302
        assert known["Location"] == unknown["Location"]

    def test_regression_a_reset_request_queues_work_only_for_known_addresses(self, django_capture_on_commit_callbacks):
        # With a broker, the request's own work must not depend on whether the address has an account.
        UserFactory(username="known", email="known@example.org")
        counts = []
        for email in ("known@example.org", "unknown@example.org"):
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                assert Client().post("/accounts/password_reset/", {"email": email}).status_code == 302
            counts.append(sum(callback.__module__ == "accounts.services" for callback in callbacks))
        assert counts == [1, 1]
