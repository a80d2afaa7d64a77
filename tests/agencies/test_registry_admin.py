"""The registry-admin role: adds and changes agencies in the browser and the API without being a superuser, and
nothing more. Only superusers give it (the Django admin, or `manage.py registry_admin`), and each grant is audited."""

from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from accounts import services as account_services
from accounts.selectors import is_registry_admin
from agencies.models import Agency
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.clients import page as browser
from tests.clients import token_api
from tests.factories import UserFactory

NEW_AGENCY = {"code": "new-borough", "name": "New Borough Council", "kind": "local_authority"}


@pytest.fixture
def registrar(region):
    """A person in no agency, made a registry administrator with the command."""
    user = UserFactory(username="registrar")
    call_command("registry_admin", "grant", "registrar", stdout=StringIO())
    return user


@pytest.mark.django_db
class RegistryAdminRoleTests:
    def test_regression_only_superusers_can_add_agencies(self, region, registrar):
        api = token_api(registrar)
        created = api.post("/api/v1/agencies/", NEW_AGENCY, format="json")
        assert created.status_code == 201, created.content
        changed = api.patch("/api/v1/agencies/other-trust/", {"name": "Other NHS Foundation Trust", "active": False},
                            format="json")
        assert changed.status_code == 200 and changed.json()["active"] is False
        page = browser(registrar)
        assert page.get("/agencies/new/").status_code == 200
        added = page.post("/agencies/new/", {"code": "far-trust", "name": "Far Trust", "kind": "nhs_trust"})
        assert added.status_code == 302 and Agency.objects.filter(code="far-trust").exists()
        edited = page.post("/agencies/home-council/edit/", {"name": "Home City Council (renamed)",
                                                           "kind": "local_authority"})
        assert edited.status_code == 302
        assert Agency.objects.get(code="home-council").name == "Home City Council (renamed)"
        update = AuditEvent.objects.filter(action=AuditAction.AGENCY_UPDATED, object_ref="home-council").get()
        assert update.actor_name == "registrar"
        assert update.detail["changes"]["name"] == ["Home City Council", "Home City Council (renamed)"]

    def test_nothing_more(self, region, registrar):
        api = token_api(registrar)
        assert api.get("/api/v1/agencies/home-council/members/").status_code == 403
        assert api.post("/api/v1/agencies/home-council/members/",
                        {"username": "home-officer", "role": "auditor"}).status_code == 403
        assert api.post("/api/v1/agencies/home-council/invitations/",
                        {"email": "x@example.org", "name": "X", "role": "auditor"}).status_code == 403
        assert api.post("/api/v1/datasets/", {"code": "d", "name": "D", "owner": "home-council"}).status_code == 403
        assert api.patch("/api/v1/datasets/home-social-care/", {"name": "Renamed"}).status_code == 403
        assert api.get("/api/v1/audit/events/").status_code == 403
        page = browser(registrar)
        for path in ("/agencies/home-council/members/", "/agencies/home-council/tokens/",
                     "/datasets/home-social-care/edit/", "/agencies/home-council/datasets/new/"):
            assert page.get(path).status_code == 403, path
        assert page.get("/admin/").status_code == 302  # not staff: no Django admin

    def test_others_may_not_add_or_change_other_agencies(self, region):
        admin = region.users["home_admin"]
        assert token_api(admin).post("/api/v1/agencies/", NEW_AGENCY, format="json").status_code == 403
        assert token_api(admin).patch("/api/v1/agencies/other-trust/", {"name": "Mine"}, format="json").status_code \
            == 403
        assert token_api(admin).patch("/api/v1/agencies/home-council/", {"active": False},
                                       format="json").status_code == 403
        assert browser(admin).get("/agencies/new/").status_code == 403

    def test_the_grant_and_revoke_are_audited_and_revoking_takes_it_away(self, region, registrar):
        granted = AuditEvent.objects.get(action=AuditAction.PERMISSION_GRANTED, object_ref="registrar")
        assert granted.actor_name == "command:registry_admin"
        assert granted.detail["role"] == "registry_admin"
        out = StringIO()
        call_command("registry_admin", "list", stdout=out)
        assert out.getvalue().split() == ["registrar"]
        call_command("registry_admin", "revoke", "registrar", stdout=StringIO())
        assert AuditEvent.objects.filter(action=AuditAction.PERMISSION_REVOKED, object_ref="registrar").count() == 1
        assert token_api(registrar).post("/api/v1/agencies/", NEW_AGENCY, format="json").status_code == 403

    def test_only_superusers_give_the_role(self, region):
        person = UserFactory(username="hopeful")
        with pytest.raises(PermissionDenied):
            account_services.registry_admin_grant(actor=region.users["home_admin"], user=person)
        staff = UserFactory(username="staff", is_staff=True)
        from django.contrib.auth.models import Permission

        staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
        changelist = "/admin/auth/user/"
        refused = browser(staff).post(changelist, {"action": "grant_registry_admin", "_selected_action": [person.pk]})
        assert not is_registry_admin(type(person).objects.get(pk=person.pk))
        assert refused.status_code in (200, 302)
        root = browser(region.users["superuser"])
        response = root.post(changelist, {"action": "grant_registry_admin", "_selected_action": [person.pk]})
        assert response.status_code == 302
        assert is_registry_admin(type(person).objects.get(pk=person.pk))
        event = AuditEvent.objects.get(action=AuditAction.PERMISSION_GRANTED, object_ref="hopeful")
        assert event.actor_name == "root"

    def test_a_switched_off_registry_admin_can_do_nothing(self, region, registrar):
        registrar.is_active = False
        registrar.save()
        assert not is_registry_admin(registrar)

    def test_regression_staff_who_change_people_can_make_themselves_superusers(self, region):
        from django.contrib.auth.models import Permission

        staff = UserFactory(username="staff", is_staff=True)
        staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
        form = {"username": "staff", "email": staff.email, "first_name": "", "last_name": "", "is_active": "on",
                "is_staff": "on", "is_superuser": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
                "profile-TOTAL_FORMS": "1", "profile-INITIAL_FORMS": "0", "profile-MIN_NUM_FORMS": "0",
                "profile-MAX_NUM_FORMS": "1", "profile-0-full_name": "", "profile-0-job_title": ""}
        browser(staff).post(f"/admin/auth/user/{staff.pk}/change/", form)
        staff.refresh_from_db()
        assert not staff.is_superuser

    def test_editable_agencies_are_every_agency_for_a_registry_admin(self, region, registrar):
        rows = token_api(registrar).get("/api/v1/agencies/?editable=true").json()
        assert rows["count"] == Agency.objects.count() == 2
