"""Agency, dataset, membership and permission services: each writes its audit event in the same transaction."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from agencies import services
from agencies.choices import AgencyKind, Role
from agencies.models import Agency, AgencyGroupObjectPermission, AgencyRole, Dataset, DatasetGroupObjectPermission
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.factories import AgencyFactory, DatasetFactory, UserFactory, member


def events(action, **filters):
    return AuditEvent.objects.filter(action=action, **filters)


@pytest.mark.django_db
class AgencyCreateTests:
    def test_creates_the_agency_its_four_role_groups_and_its_admins_grants(self):
        root = UserFactory(username="root", is_superuser=True)
        agency = services.agency_create(
            actor=root, code="bolton-cc", name="Bolton Council", kind=AgencyKind.LOCAL_AUTHORITY, dpo_email="d@b.test"
        )
        assert set(AgencyRole.objects.filter(agency=agency).values_list("role", flat=True)) == set(Role.values)
        assert Group.objects.filter(name="bolton-cc:agency_admin").exists()
        created = events(AuditAction.AGENCY_CREATED).get()
        assert (created.object_ref, created.agency_code, created.actor_name) == ("bolton-cc", "bolton-cc", "root")
        assert created.detail["dpo_email"] == "d@b.test"
        grants = events(AuditAction.PERMISSION_GRANTED, agency_code="bolton-cc")
        assert sorted(e.detail["permission"] for e in grants) == ["agencies.change_agency", "agencies.manage_members"]
        assert {e.detail["group"] for e in grants} == {"bolton-cc:agency_admin"}
        assert AgencyGroupObjectPermission.objects.filter(content_object=agency).count() == 2
        admin = member(agency, Role.AGENCY_ADMIN, "bolton-admin")
        assert admin.has_perm("agencies.change_agency", agency)
        assert admin.has_perm("agencies.manage_members", agency)

    def test_only_a_superuser_may_create(self):
        admin = member(AgencyFactory(), Role.AGENCY_ADMIN)
        with pytest.raises(PermissionDenied):
            services.agency_create(actor=admin, code="x-council", name="X", kind=AgencyKind.OTHER)
        assert not Agency.objects.filter(code="x-council").exists()
        assert not events(AuditAction.AGENCY_CREATED).exists()

    @pytest.mark.parametrize(
        ("values", "field"),
        [
            ({"code": "taken"}, "code"),
            ({"code": "Not A Slug"}, "code"),
            ({"kind": "castle"}, "kind"),
            ({"dpo_email": "nope"}, "dpo_email"),
        ],
    )
    def test_bad_values_are_field_errors_and_nothing_is_written(self, values, field):
        AgencyFactory(code="taken")
        arguments = {"code": "fresh", "name": "Fresh", "kind": AgencyKind.OTHER, **values}
        with pytest.raises(ValidationError) as raised:
            services.agency_create(actor=None, **arguments)
        assert field in raised.value.message_dict
        assert Agency.objects.count() == 1
        assert not AuditEvent.objects.exists()


@pytest.mark.django_db
class AgencyUpdateTests:
    def test_admin_changes_details_and_the_changes_are_recorded(self, region):
        agency = services.agency_update(
            actor=region.users["home_admin"], agency=region.home, name="Home Borough", ico_registration="Z1234567"
        )
        assert (agency.name, agency.ico_registration) == ("Home Borough", "Z1234567")
        event = events(AuditAction.AGENCY_UPDATED).get()
        assert event.detail == {
            "changes": {"name": ["Home City Council", "Home Borough"], "ico_registration": ["", "Z1234567"]}
        }
        assert event.actor_name == "home-admin"

    def test_nothing_changed_records_nothing(self, region):
        services.agency_update(actor=region.users["home_admin"], agency=region.home, name="Home City Council")
        assert not events(AuditAction.AGENCY_UPDATED).exists()

    @pytest.mark.parametrize("who", ["home_officer", "other_admin"])
    def test_others_may_not(self, region, who):
        with pytest.raises(PermissionDenied):
            services.agency_update(actor=region.users[who], agency=region.home, name="Hijacked")
        region.home.refresh_from_db()
        assert region.home.name == "Home City Council"

    def test_only_a_superuser_changes_active(self, region):
        with pytest.raises(PermissionDenied):
            services.agency_update(actor=region.users["home_admin"], agency=region.home, active=False)
        services.agency_update(actor=region.users["superuser"], agency=region.home, active=False)
        region.home.refresh_from_db()
        assert region.home.active is False
        assert events(AuditAction.AGENCY_UPDATED).get().detail == {"changes": {"active": [True, False]}}

    def test_the_code_never_changes(self, region):
        with pytest.raises(ValidationError) as raised:
            services.agency_update(actor=None, agency=region.home, code="new-code")
        assert "code" in raised.value.message_dict
        services.agency_update(actor=None, agency=region.home, code="home-council")  # unchanged is fine

    def test_a_bad_value_is_a_field_error_and_nothing_is_saved(self, region):
        with pytest.raises(ValidationError) as raised:
            services.agency_update(actor=None, agency=region.home, name="Renamed", dpo_email="not-an-email")
        assert "dpo_email" in raised.value.message_dict
        region.home.refresh_from_db()
        assert region.home.name == "Home City Council"
        assert not events(AuditAction.AGENCY_UPDATED).exists()


@pytest.mark.django_db
class DatasetCreateTests:
    def test_officer_registers_a_dataset_and_the_owners_officers_and_admins_may_edit_it(self, region):
        officer = region.users["home_officer"]
        dataset = services.dataset_create(
            actor=officer,
            owner=region.home,
            code="home-housing",
            name="Housing register",
            data_items=[" address ", "tenure"],
            criminal_offence=True,
        )
        assert dataset.data_items == ["address", "tenure"]
        created = events(AuditAction.DATASET_CREATED, object_ref="home-housing").get()
        assert (created.object_ref, created.agency_code, created.actor_name) == (
            "home-housing",
            "home-council",
            "home-officer",
        )
        assert created.detail["criminal_offence"] is True
        grants = events(AuditAction.PERMISSION_GRANTED, object_ref="home-housing")
        assert {(e.detail["permission"], e.detail["role"]) for e in grants} == {
            ("agencies.change_dataset", "governance_officer"),
            ("agencies.change_dataset", "agency_admin"),
        }
        assert DatasetGroupObjectPermission.objects.filter(content_object=dataset).count() == 2
        assert officer.has_perm("agencies.change_dataset", dataset)
        assert region.users["home_admin"].has_perm("agencies.change_dataset", dataset)
        assert not region.users["home_frontline"].has_perm("agencies.change_dataset", dataset)
        assert not region.users["other_officer"].has_perm("agencies.change_dataset", dataset)

    @pytest.mark.parametrize("who", ["home_frontline", "home_auditor", "other_officer", "other_admin"])
    def test_others_may_not_register_for_the_owner(self, region, who):
        with pytest.raises(PermissionDenied):
            services.dataset_create(actor=region.users[who], owner=region.home, code="sneaky", name="Sneaky")
        assert not Dataset.objects.filter(code="sneaky").exists()
        assert not events(AuditAction.DATASET_CREATED, object_ref="sneaky").exists()

    def test_an_inactive_owner_cannot_gain_datasets(self, region):
        services.agency_update(actor=None, agency=region.home, active=False)
        with pytest.raises(ValidationError) as raised:
            services.dataset_create(actor=None, owner=region.home, code="late", name="Late")
        assert "owner" in raised.value.message_dict

    @pytest.mark.parametrize(
        ("values", "field"),
        [
            ({"code": "home-social-care"}, "code"),
            ({"data_items": ["name", "NAME"]}, "data_items"),
            ({"data_items": ["name", "  "]}, "data_items"),
            ({"data_items": ["x" * 201]}, "data_items"),
            ({"classification": "SECRET"}, "classification"),
        ],
    )
    def test_bad_values_are_field_errors_and_nothing_is_written(self, region, values, field):
        before = AuditEvent.objects.count()
        arguments = {"code": "fresh", "name": "Fresh", **values}
        with pytest.raises(ValidationError) as raised:
            services.dataset_create(actor=None, owner=region.home, **arguments)
        assert field in raised.value.message_dict
        assert Dataset.objects.count() == 2
        assert AuditEvent.objects.count() == before


@pytest.mark.django_db
class DatasetUpdateTests:
    def test_officer_changes_a_dataset_and_the_changes_are_recorded(self, region):
        dataset = services.dataset_update(
            actor=region.users["home_officer"], dataset=region.home_dataset, special_category=True
        )
        assert dataset.special_category is True
        event = events(AuditAction.DATASET_UPDATED).get()
        assert event.detail == {"changes": {"special_category": [False, True]}}
        assert event.agency_code == "home-council"

    @pytest.mark.parametrize("who", ["home_frontline", "home_auditor", "other_officer", "other_admin"])
    def test_others_may_not(self, region, who):
        with pytest.raises(PermissionDenied):
            services.dataset_update(actor=region.users[who], dataset=region.home_dataset, name="Hijacked")
        assert not events(AuditAction.DATASET_UPDATED).exists()

    def test_a_dataset_loaded_without_grants_is_editable_only_once_they_are_ensured(self, region):
        loaded = DatasetFactory(owner=region.home, code="loaded")
        officer = region.users["home_officer"]
        with pytest.raises(PermissionDenied):
            services.dataset_update(actor=officer, dataset=loaded, name="Loaded")
        assert services.dataset_permissions_ensure(dataset=loaded) == 2
        assert services.dataset_permissions_ensure(dataset=loaded) == 0  # idempotent, and nothing more recorded
        services.dataset_update(actor=officer, dataset=loaded, name="Loaded")
        assert events(AuditAction.PERMISSION_GRANTED, object_ref="loaded").count() == 2

    def test_moving_to_an_agency_where_the_actor_has_no_role_is_refused(self, region):
        with pytest.raises(PermissionDenied):
            services.dataset_update(actor=region.users["home_admin"], dataset=region.home_dataset, owner=region.other)
        region.home_dataset.refresh_from_db()
        assert region.home_dataset.owner == region.home

    def test_moving_moves_the_edit_permissions_and_records_each_step(self, region):
        mover = member(region.home, Role.AGENCY_ADMIN, "mover")
        member(region.other, Role.GOVERNANCE_OFFICER, "mover")
        dataset = services.dataset_update(actor=mover, dataset=region.home_dataset, owner=region.other)
        assert dataset.owner == region.other
        assert events(AuditAction.DATASET_UPDATED).get().detail == {
            "changes": {"owner": ["home-council", "other-trust"]}
        }
        revoked = events(AuditAction.PERMISSION_REVOKED, object_ref="home-social-care")
        assert {e.detail["group"] for e in revoked} == {"home-council:governance_officer", "home-council:agency_admin"}
        granted = events(AuditAction.PERMISSION_GRANTED, object_ref="home-social-care", agency_code="other-trust")
        assert {e.detail["group"] for e in granted} == {"other-trust:governance_officer", "other-trust:agency_admin"}
        fresh_home_officer = type(region.users["home_officer"]).objects.get(username="home-officer")
        assert not fresh_home_officer.has_perm("agencies.change_dataset", dataset)

    def test_code_cannot_change_and_unknown_fields_are_refused(self, region):
        with pytest.raises(ValidationError):
            services.dataset_update(actor=None, dataset=region.home_dataset, code="renamed")
        with pytest.raises(TypeError):  # only the fields it names can be changed
            services.dataset_update(actor=None, dataset=region.home_dataset, created_at=None)


@pytest.mark.django_db
class MembershipTests:
    def test_grant_records_who_to_whom_which_role_and_where(self, region):
        user = UserFactory(username="ada")
        assert services.membership_grant(agency=region.home, user=user, role=Role.AUDITOR) is True
        event = events(AuditAction.MEMBERSHIP_GRANTED).get()
        assert (event.object_ref, event.agency_code) == ("home-council:ada:auditor", "home-council")
        assert event.detail == {"username": "ada", "role": "auditor", "agency": "home-council"}
        assert user.groups.filter(agency_role__agency=region.home, agency_role__role=Role.AUDITOR).exists()

    def test_granting_twice_records_once(self, region):
        user = UserFactory(username="ada")
        services.membership_grant(agency=region.home, user=user, role=Role.AUDITOR)
        assert services.membership_grant(agency=region.home, user=user, role=Role.AUDITOR) is False
        assert events(AuditAction.MEMBERSHIP_GRANTED).count() == 1

    def test_revoke_records_and_takes_the_permissions_away(self, region):
        officer = region.users["home_officer"]
        assert services.membership_revoke(agency=region.home, user=officer, role=Role.GOVERNANCE_OFFICER) is True
        assert events(AuditAction.MEMBERSHIP_REVOKED).get().detail["username"] == "home-officer"
        fresh = type(officer).objects.get(pk=officer.pk)
        assert not fresh.has_perm("agencies.change_dataset", region.home_dataset)
        assert services.membership_revoke(agency=region.home, user=officer, role=Role.GOVERNANCE_OFFICER) is False
        assert events(AuditAction.MEMBERSHIP_REVOKED).count() == 1

    def test_admin_adds_by_username(self, region):
        UserFactory(username="ada")
        user, granted = services.membership_add(
            actor=region.users["home_admin"], agency=region.home, username="ada", email="ada@example.org",
            role="frontline",
        )
        assert granted and user.username == "ada"
        assert events(AuditAction.MEMBERSHIP_GRANTED).get().actor_name == "home-admin"

    def test_adding_an_unknown_username_is_a_field_error(self, region):
        with pytest.raises(ValidationError) as raised:
            services.membership_add(
                actor=region.users["home_admin"], agency=region.home, username="ghost", role="frontline"
            )
        assert raised.value.message_dict == {"username": [services.NO_MATCHING_MEMBER.format(agency=region.home.name)]}

    def test_an_unknown_role_is_a_field_error(self, region):
        with pytest.raises(ValidationError) as raised:
            services.membership_add(actor=None, agency=region.home, username="home-officer", role="king")
        assert "role" in raised.value.message_dict

    @pytest.mark.parametrize("who", ["home_officer", "other_admin"])
    def test_only_the_agencys_admins_manage_members(self, region, who):
        UserFactory(username="ada")
        with pytest.raises(PermissionDenied):
            services.membership_add(actor=region.users[who], agency=region.home, username="ada", role="frontline")
        with pytest.raises(PermissionDenied):
            services.membership_remove(
                actor=region.users[who], agency=region.home, username="home-frontline", role="frontline"
            )
        assert not AuditEvent.objects.filter(
            action__in=[AuditAction.MEMBERSHIP_GRANTED, AuditAction.MEMBERSHIP_REVOKED]
        ).exists()

    def test_an_admin_cannot_remove_their_own_admin_role_but_another_can(self, region):
        admin = region.users["home_admin"]
        with pytest.raises(PermissionDenied):
            services.membership_remove(actor=admin, agency=region.home, username="home-admin", role="agency_admin")
        second = member(region.home, Role.AGENCY_ADMIN, "second-admin")
        assert services.membership_remove(actor=second, agency=region.home, username="home-admin", role="agency_admin")
        assert events(AuditAction.MEMBERSHIP_REVOKED).get().actor_name == "second-admin"


@pytest.mark.django_db
class PermissionGrantTests:
    def test_grant_goes_to_the_role_group_and_is_recorded_once(self, region):
        dataset = DatasetFactory(owner=region.home, code="plain")
        assert services.permission_grant(
            perm="agencies.change_dataset", agency=region.home, role=Role.FRONTLINE, obj=dataset
        )
        assert not services.permission_grant(
            perm="agencies.change_dataset", agency=region.home, role=Role.FRONTLINE, obj=dataset
        )
        event = events(AuditAction.PERMISSION_GRANTED, object_ref="plain").get()
        assert event.detail == {
            "permission": "agencies.change_dataset",
            "group": "home-council:frontline",
            "role": "frontline",
        }
        assert region.users["home_frontline"].has_perm("agencies.change_dataset", dataset)

    def test_revoke_is_recorded_and_takes_effect(self, region):
        assert services.permission_revoke(
            perm="agencies.change_dataset", agency=region.home, role=Role.GOVERNANCE_OFFICER, obj=region.home_dataset
        )
        assert not services.permission_revoke(
            perm="agencies.change_dataset", agency=region.home, role=Role.GOVERNANCE_OFFICER, obj=region.home_dataset
        )
        assert events(AuditAction.PERMISSION_REVOKED).count() == 1
        assert not region.users["home_officer"].has_perm("agencies.change_dataset", region.home_dataset)

    def test_agency_permissions_ensure_repairs_an_agency_loaded_without_them(self):
        agency = AgencyFactory(code="loaded")
        assert services.agency_permissions_ensure(agency=agency) == 2
        assert services.agency_permissions_ensure(agency=agency) == 0
        assert agency.roles.count() == 4
        assert member(agency, Role.AGENCY_ADMIN).has_perm("agencies.manage_members", agency)


@pytest.mark.django_db
class ReadAuditTests:
    def test_each_read_service_records_its_event(self, region):
        services.agency_record_viewed(agency=region.home)
        services.agency_record_listed(filters={"q": "x"})
        services.dataset_record_viewed(dataset=region.home_dataset)
        services.dataset_record_listed(filters={})
        services.membership_record_listed(agency=region.home)
        assert events(AuditAction.AGENCY_VIEWED, object_ref="home-council").exists()
        assert events(AuditAction.AGENCY_LISTED).get().detail == {"filters": {"q": "x"}}
        assert events(AuditAction.DATASET_VIEWED, agency_code="home-council").exists()
        assert events(AuditAction.DATASET_LISTED).exists()
        assert events(AuditAction.MEMBERSHIP_LISTED, agency_code="home-council").exists()
