"""Managing members: separation of duties, leavers, one-step role changes and additions from other agencies."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from agencies import selectors, services
from agencies.choices import Role
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.clients import page as browser
from tests.clients import token_api
from tests.factories import PASSWORD, api_key, member, token_works

MEMBERS = "/agencies/home-council/members/"
API_MEMBERS = "/api/v1/agencies/home-council/members/"


def granted() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED)
                .values_list("object_ref", "actor_name"))


@pytest.mark.django_db
class SeparationOfDutiesTests:
    """Regression: agency admins can grant themselves any role, so nobody checks the checker."""

    @pytest.mark.parametrize("role", [Role.AUDITOR, Role.GOVERNANCE_OFFICER, Role.FRONTLINE])
    def test_regression_agency_admins_can_grant_themselves_any_role(self, region, role):
        admin = region.users["home_admin"]
        with pytest.raises(PermissionDenied, match="You cannot give yourself a role"):
            services.membership_add(actor=admin, agency=region.home, username="home-admin", role=role)
        api = token_api(admin).post(API_MEMBERS, {"username": "home-admin", "role": role.value})
        assert api.status_code == 403
        assert "Ask another administrator of Home City Council" in api.json()["detail"]
        page = browser(admin).post(MEMBERS, {"username": "home-admin", "email": admin.email, "role": role.value})
        assert page.status_code == 403
        assert "You cannot give yourself a role" in page.content.decode()
        assert not selectors.has_role(admin, region.home.pk, role)
        assert granted() == []

    def test_an_admin_cannot_take_away_or_change_their_own_roles(self, region):
        admin = region.users["home_admin"]
        with pytest.raises(PermissionDenied):
            services.membership_change_role(actor=admin, agency=region.home, username="home-admin",
                                            from_role=Role.AGENCY_ADMIN, to_role=Role.AUDITOR)
        with pytest.raises(PermissionDenied):
            services.membership_leave(actor=admin, agency=region.home, username="home-admin")
        response = browser(admin).get(f"{MEMBERS}change-role/?username=home-admin&role=agency_admin")
        assert response.status_code == 403
        page = browser(admin).get(MEMBERS).content.decode()
        assert "You cannot change your own roles. Ask another administrator." in page
        assert "remove/?username=home-admin&amp;" not in page and "remove/?username=home-officer&amp;" in page

    def test_another_admin_of_the_agency_or_a_superuser_may(self, region):
        second = member(region.home, Role.AGENCY_ADMIN, "second-admin")
        services.membership_add(actor=second, agency=region.home, username="home-admin", role=Role.AUDITOR)
        services.membership_add(actor=region.users["superuser"], agency=region.home, username="home-admin",
                                role=Role.FRONTLINE)
        assert granted() == [("home-council:home-admin:auditor", "second-admin"),
                             ("home-council:home-admin:frontline", "root")]


@pytest.mark.django_db
class LeaverTests:
    def test_removing_the_last_role_switches_the_account_off_ends_sessions_and_revokes_tokens(self, region):
        person = region.users["home_frontline"]
        key = api_key(person)
        assert token_works(key)
        session = Client()
        assert session.login(username="home-frontline", password=PASSWORD)
        assert session.get("/").status_code == 200
        response = browser(region.users["home_admin"]).post(f"{MEMBERS}leave/", {"username": "home-frontline"},
                                                            follow=True)
        assert "their account is now switched off" in response.content.decode()
        person.refresh_from_db()
        assert not person.is_active
        assert session.get("/")["Location"].startswith("/accounts/login/")  # the open session no longer works
        assert not token_works(key)
        services.membership_add(actor=region.users["home_admin"], agency=region.home, username="home-frontline",
                                email=person.email, role=Role.FRONTLINE, confirm=True)
        assert not token_works(key)  # revoked, not merely refused while the account was off
        event = AuditEvent.objects.get(action=AuditAction.USER_DEACTIVATED)
        assert event.actor_name == "home-admin"
        assert "home-council" in event.agencies
        assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED,
                                         object_ref="home-council:home-frontline:frontline").count() == 1

    def test_someone_with_a_role_elsewhere_keeps_their_account(self, region):
        person = region.users["home_frontline"]
        member(region.other, Role.AUDITOR, "home-frontline")
        services.membership_leave(actor=region.users["home_admin"], agency=region.home, username="home-frontline")
        person.refresh_from_db()
        assert person.is_active
        assert not AuditEvent.objects.filter(action=AuditAction.USER_DEACTIVATED).exists()

    def test_the_leave_page_asks_first_and_says_what_will_happen(self, region):
        content = browser(region.users["home_admin"]).get(f"{MEMBERS}leave/?username=home-frontline")
        assert "They belong to no other agency, so their account will be switched off" in content.content.decode()
        assert region.users["home_frontline"].groups.exists()

    def test_adding_a_leaver_again_switches_them_back_on_once_confirmed(self, region):
        services.membership_leave(actor=region.users["home_admin"], agency=region.home, username="home-frontline")
        add = {"actor": region.users["home_admin"], "agency": region.home, "username": "home-frontline",
               "email": "home-frontline@example.org", "role": Role.FRONTLINE}
        with pytest.raises(services.ConfirmationNeeded, match="account is switched off"):
            services.membership_add(**add)
        services.membership_add(**add, confirm=True)
        region.users["home_frontline"].refresh_from_db()
        assert region.users["home_frontline"].is_active
        assert AuditEvent.objects.filter(action=AuditAction.USER_REACTIVATED).count() == 1


@pytest.mark.django_db
class RoleChangeTests:
    def test_a_role_changes_in_one_step(self, region):
        client = browser(region.users["home_admin"])
        form = client.get(f"{MEMBERS}change-role/?username=home-frontline&role=frontline")
        assert "Change the role of home-frontline" in form.content.decode()
        response = client.post(f"{MEMBERS}change-role/", {"username": "home-frontline", "role": "frontline",
                                                          "from_role": "frontline", "to_role": "auditor"}, follow=True)
        assert "home-frontline is now an auditor in Home City Council." in response.content.decode()
        person = region.users["home_frontline"]
        assert selectors.has_role(person, region.home.pk, Role.AUDITOR)
        assert not selectors.has_role(person, region.home.pk, Role.FRONTLINE)
        person.refresh_from_db()
        assert person.is_active  # never left without a role in between
        revoke, grant = AuditEvent.objects.filter(action__in=[AuditAction.MEMBERSHIP_REVOKED,
                                                              AuditAction.MEMBERSHIP_GRANTED]).order_by("seq")
        assert (revoke.action, grant.action) == ("membership.revoked", "membership.granted")
        assert grant.detail["changed_from"] == "frontline" and grant.request_id == revoke.request_id

    def test_no_new_role_chosen_is_an_error(self, region):
        response = browser(region.users["home_admin"]).post(f"{MEMBERS}change-role/", {
            "username": "home-frontline", "role": "frontline", "from_role": "frontline", "to_role": ""})
        assert response.status_code == 400 and "Choose a role." in response.content.decode()


@pytest.mark.django_db
class AddingFromAnotherAgencyTests:
    def test_the_page_asks_for_confirmation_without_naming_their_agency(self, region):
        client = browser(region.users["home_admin"])
        data = {"username": "other-officer", "email": "other-officer@example.org", "role": "auditor"}
        question = client.post(MEMBERS, data)
        content = question.content.decode()
        assert question.status_code == 409
        assert "other-officer already belongs to another agency" in content
        assert "Other NHS Trust" not in content
        assert granted() == []
        client.post(MEMBERS, {**data, "confirm": "on"})
        assert granted() == [("home-council:other-officer:auditor", "home-admin")]

    def test_the_api_asks_for_confirm_too(self, region):
        client = token_api(region.users["home_admin"])
        body = {"username": "other-officer", "email": "other-officer@example.org", "role": "auditor"}
        refused = client.post(API_MEMBERS, body)
        assert refused.status_code == 400
        assert "already belongs to another agency" in refused.json()["confirm"][0]
        assert "Other NHS Trust" not in refused.content.decode()
        assert client.post(API_MEMBERS, {**body, "confirm": True}).status_code == 201

    def test_the_form_does_not_reveal_which_usernames_exist(self, region):
        client = browser(region.users["home_admin"])
        unknown = client.post(MEMBERS, {"username": "nobody", "email": "nobody@example.org", "role": "auditor"})
        wrong_email = client.post(MEMBERS, {"username": "other-officer", "email": "guess@example.org",
                                            "role": "auditor"})
        assert unknown.status_code == wrong_email.status_code == 400
        message = "No account matches those details."
        assert message in unknown.content.decode() and message in wrong_email.content.decode()
        assert "Other NHS Trust" not in wrong_email.content.decode()


@pytest.mark.django_db
class MemberNamesTests:
    def test_pages_and_the_api_show_names_and_job_titles(self, region):
        from accounts.services import user_profile_update

        user_profile_update(user=region.users["home_officer"], full_name="Grace Hopper", job_title="Caldicott lead")
        content = browser(region.users["home_admin"]).get(MEMBERS).content.decode()
        assert "Grace Hopper" in content and "Caldicott lead" in content
        rows = token_api(region.users["home_admin"]).get(API_MEMBERS + "?role=governance_officer").json()["results"]
        assert (rows[0]["name"], rows[0]["job_title"]) == ("Grace Hopper", "Caldicott lead")
