"""Selectors: what a user may change, restricted lists, and filters."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404

from agencies import selectors
from agencies.choices import Role
from tests.factories import AgencyFactory, DatasetFactory, member


@pytest.mark.django_db
class PermissionQuestionTests:
    @pytest.mark.parametrize(
        ("who", "change_agency", "manage_members", "change_dataset", "create_dataset"),
        [
            ("home_frontline", False, False, False, False),
            ("home_auditor", False, False, False, False),
            ("home_officer", False, False, True, True),
            ("home_admin", True, True, True, True),
            ("other_admin", False, False, False, False),
            ("other_officer", False, False, False, False),
            ("superuser", True, True, True, True),
        ],
    )
    def test_answers_by_role(self, region, who, change_agency, manage_members, change_dataset, create_dataset):
        user = region.users[who]
        assert selectors.agency_can_change(user=user, agency=region.home) is change_agency
        assert selectors.agency_can_manage_members(user=user, agency=region.home) is manage_members
        assert selectors.dataset_can_change(user=user, dataset=region.home_dataset) is change_dataset
        assert selectors.dataset_can_create(user=user, owner=region.home) is create_dataset

    def test_anonymous_and_inactive_users_may_do_nothing(self, region):
        region.users["home_admin"].is_active = False
        for user in (AnonymousUser(), region.users["home_admin"]):
            assert not selectors.agency_can_change(user=user, agency=region.home)
            assert not selectors.agency_can_manage_members(user=user, agency=region.home)
            assert not selectors.dataset_can_change(user=user, dataset=region.home_dataset)
            assert not selectors.dataset_can_create(user=user, owner=region.home)
            assert not selectors.agency_can_create(user=user)

    def test_a_permission_comes_from_the_group_not_the_user(self, region):
        # Guardian holds grants on the role groups only: leaving the group takes the permission away.
        officer = region.users["home_officer"]
        officer.groups.clear()
        fresh = type(officer).objects.get(pk=officer.pk)
        assert not selectors.dataset_can_change(user=fresh, dataset=region.home_dataset)

    def test_user_roles_are_read_once_per_user_object(self, region, django_assert_num_queries):
        user = type(region.users["home_admin"]).objects.get(username="home-admin")
        with django_assert_num_queries(1):
            assert selectors.has_role(user, region.home.pk, Role.AGENCY_ADMIN)
            assert not selectors.has_role(user, region.other.pk, Role.AGENCY_ADMIN)
            assert selectors.user_agency_ids(user) == {region.home.pk}


@pytest.mark.django_db
class ListTests:
    def test_agency_list_filters(self, region):
        AgencyFactory(code="closed", name="Closed Trust", kind="nhs_trust", active=False)
        user = region.users["home_frontline"]
        assert [a.code for a in selectors.agency_list(user=user, filters={"kind": "nhs_trust"})] == [
            "closed",
            "other-trust",
        ]
        assert [a.code for a in selectors.agency_list(user=user, filters={"kind": "nhs_trust", "active": True})] == [
            "other-trust"
        ]
        assert [a.code for a in selectors.agency_list(user=user, filters={"q": "HOME"})] == ["home-council"]

    def test_a_bad_filter_is_a_field_error(self, region):
        with pytest.raises(ValidationError) as raised:
            list(selectors.agency_list(user=region.users["home_frontline"], filters={"kind": "castle"}))
        assert "kind" in raised.value.message_dict

    def test_editable_lists_join_the_permission_tables(self, region, django_assert_num_queries):
        for i in range(5):
            DatasetFactory(code=f"unlisted-{i}", owner=region.home)  # no grants: nobody but superusers may edit
        officer = type(region.users["home_officer"]).objects.get(username="home-officer")
        with django_assert_num_queries(1):
            codes = [d.code for d in selectors.dataset_list(user=officer, editable=True)]
        assert codes == ["home-social-care"]
        assert [a.code for a in selectors.agency_list(user=region.users["home_admin"], editable=True)] == [
            "home-council"
        ]
        assert selectors.dataset_list(user=region.users["superuser"], editable=True).count() == 7
        assert not selectors.dataset_list(user=AnonymousUser(), editable=True).exists()

    def test_a_user_in_two_granted_groups_sees_each_dataset_once(self, region):
        both = member(region.home, Role.GOVERNANCE_OFFICER, "both")
        member(region.home, Role.AGENCY_ADMIN, "both")
        assert [d.code for d in selectors.dataset_list(user=both, editable=True)] == ["home-social-care"]

    def test_dataset_list_filters(self, region):
        user = region.users["home_frontline"]
        assert [d.code for d in selectors.dataset_list(user=user, filters={"owner": "other-trust"})] == [
            "other-discharges"
        ]
        assert [d.code for d in selectors.dataset_list(user=user, filters={"special_category": False})] == [
            "home-social-care"
        ]

    def test_membership_list_is_only_that_agencys_and_has_its_rows_loaded(self, region, django_assert_num_queries):
        with django_assert_num_queries(1):
            rows = [(m.user.username, m.group.agency_role.role) for m in selectors.membership_list(agency=region.home)]
        assert rows == [
            ("home-admin", "agency_admin"),
            ("home-auditor", "auditor"),
            ("home-frontline", "frontline"),
            ("home-officer", "governance_officer"),
        ]
        assert [m.user.username for m in selectors.membership_list(agency=region.home, role=Role.AUDITOR)] == [
            "home-auditor"
        ]

    def test_get_by_code_or_404(self, region):
        assert selectors.agency_get(code="home-council") == region.home
        assert selectors.dataset_get(code="home-social-care") == region.home_dataset
        with pytest.raises(Http404):
            selectors.agency_get(code="nowhere")
        with pytest.raises(Http404):
            selectors.dataset_get(code="nowhere")
