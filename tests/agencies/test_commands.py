"""`manage.py add_member <username> <agency-code> <role>` as the contract describes it, and the permission repair."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from agencies.choices import Role
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.factories import AgencyFactory, DatasetFactory, member


def add_member(*args) -> str:
    out = StringIO()
    call_command("add_member", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class AddMemberCommandTests:
    def test_creates_the_user_if_absent_and_gives_the_role(self, region):
        output = add_member("ada", "home-council", "governance_officer")
        ada = get_user_model().objects.get(username="ada")
        assert not ada.has_usable_password()
        assert ada.has_perm("agencies.change_dataset", region.home_dataset)
        assert "ada now has the role governance_officer in home-council (new user)" in output
        event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_GRANTED)
        assert (event.actor_name, event.detail) == (
            "command:add_member",
            {"username": "ada", "role": "governance_officer", "agency": "home-council"},
        )

    def test_an_existing_user_keeps_their_password_and_a_repeat_changes_nothing(self, region):
        officer = region.users["home_officer"]
        output = add_member("home-officer", "home-council", "governance_officer")
        assert "home-officer already had the role governance_officer in home-council" in output
        officer.refresh_from_db()
        assert officer.has_usable_password()
        assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED).exists()

    def test_an_existing_user_gains_a_second_role(self, region):
        add_member("home-officer", "other-trust", "auditor")
        assert region.users["home_officer"].groups.filter(agency_role__agency=region.other).exists()

    def test_email_and_name_describe_a_new_user_and_are_audited(self, region):
        from accounts.selectors import display_name

        output = add_member("asha", "home-council", "auditor", "--email", "asha@example.org", "--name", "Asha Patel")
        asha = get_user_model().objects.get(username="asha")
        assert (asha.email, display_name(asha)) == ("asha@example.org", "Asha Patel")
        assert "asha now has the role auditor in home-council (new user)" in output
        created = AuditEvent.objects.get(action=AuditAction.USER_CREATED, object_ref="asha")
        assert (created.actor_name, created.detail["full_name"]) == ("command:add_member", "Asha Patel")

    def test_email_and_name_update_an_existing_user(self, region):
        from accounts.selectors import display_name

        add_member("home-officer", "home-council", "governance_officer", "--email", "new@example.org",
                   "--name", "Grace Hopper")
        officer = get_user_model().objects.get(username="home-officer")
        assert (officer.email, display_name(officer)) == ("new@example.org", "Grace Hopper")
        assert AuditEvent.objects.filter(action=AuditAction.USER_UPDATED, object_ref="home-officer").count() == 2

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("ada", "nowhere", "frontline"), "No agency has the code 'nowhere'."),
            (("ada", "home-council", "king"), "Unknown role 'king'."),
        ],
    )
    def test_bad_arguments_fail_and_create_nobody(self, region, args, message):
        with pytest.raises(CommandError, match=message):
            add_member(*args)
        assert not get_user_model().objects.filter(username="ada").exists()


@pytest.mark.django_db
class EnsureAgencyPermissionsCommandTests:
    def test_repairs_data_loaded_without_the_services_and_is_idempotent(self, region):
        loaded = AgencyFactory(code="loaded")
        dataset = DatasetFactory(owner=loaded, code="loaded-data")
        out = StringIO()
        call_command("ensure_agency_permissions", stdout=out)
        assert out.getvalue().strip() == "4 permissions granted"
        assert member(loaded, Role.AGENCY_ADMIN).has_perm("agencies.manage_members", loaded)
        assert member(loaded, Role.GOVERNANCE_OFFICER).has_perm("agencies.change_dataset", dataset)
        grants = AuditEvent.objects.filter(action=AuditAction.PERMISSION_GRANTED, agency_code="loaded")
        assert grants.count() == 4
        assert {e.actor_name for e in grants} == {"command:ensure_agency_permissions"}
        again = StringIO()
        call_command("ensure_agency_permissions", stdout=again)
        assert again.getvalue().strip() == "0 permissions granted"
