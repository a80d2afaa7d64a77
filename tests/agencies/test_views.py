"""Browser pages for agencies, datasets and members, driven with Django's test client (no JavaScript needed)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agencies.choices import Role
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.agencies.conftest import matrix_cases, matrix_row
from tests.clients import page as browser
from tests.factories import AgencyFactory, DatasetFactory, UserFactory, member

AGENCIES = "/agencies/"
HOME = "/agencies/home-council/"
MEMBERS = HOME + "members/"
REMOVE = HOME + "members/remove/"
DATASET = "/datasets/home-social-care/"
ADMINS_ONLY = {"anonymous": 302, "home_admin": 200, "superuser": 200, "*": 403}
DATASET_EDITORS = {"anonymous": 302, "home_admin": 200, "home_officer": 200, "superuser": 200, "*": 403}

# page: (method, path, form data, {actor: status})
MATRIX = {
    "agency list": ("get", AGENCIES, None, {"anonymous": 302, "*": 200}),
    "agency search": ("get", AGENCIES + "?q=home&kind=local_authority", None, {"anonymous": 302, "*": 200}),
    "agency detail": ("get", HOME, None, {"anonymous": 302, "*": 200}),
    "dataset detail": ("get", DATASET, None, {"anonymous": 302, "*": 200}),
    "members": ("get", MEMBERS, None, ADMINS_ONLY),
    "member add": (
        "post",
        MEMBERS,
        {"username": "newcomer", "email": "newcomer@example.org", "role": "auditor"},
        {"anonymous": 302, "home_admin": 302, "superuser": 302, "*": 403},
    ),
    "member remove confirm": ("get", REMOVE + "?username=home-frontline&role=frontline", None, ADMINS_ONLY),
    "member remove": (
        "post",
        REMOVE,
        {"username": "home-frontline", "role": "frontline"},
        {"anonymous": 302, "home_admin": 302, "superuser": 302, "*": 403},
    ),
    "invite form": ("get", HOME + "invitations/new/", None, ADMINS_ONLY),
    "member leave confirm": ("get", MEMBERS + "leave/?username=home-frontline", None, ADMINS_ONLY),
    "member role change form": ("get", MEMBERS + "change-role/?username=home-frontline&role=frontline", None,
                                ADMINS_ONLY),
    "agency create form": ("get", "/agencies/new/", None, {"anonymous": 302, "superuser": 200, "*": 403}),
    "agency edit form": ("get", HOME + "edit/", None, ADMINS_ONLY),
    "dataset create form": ("get", HOME + "datasets/new/", None, DATASET_EDITORS),
    "dataset edit form": ("get", DATASET + "edit/", None, DATASET_EDITORS),
    "unknown agency": ("get", "/agencies/nowhere/", None, {"anonymous": 302, "*": 404}),
    "unknown agency members": ("get", "/agencies/nowhere/members/", None, {"anonymous": 302, "*": 404}),
    "unknown dataset": ("get", "/datasets/nowhere/", None, {"anonymous": 302, "*": 404}),
}


@pytest.mark.django_db
class PageMatrixTests:
    @pytest.mark.parametrize(("page", "actor"), matrix_cases(MATRIX))
    def test_status_for_every_page_and_role(self, region, page, actor):
        method, path, data, user, status = matrix_row(region, MATRIX, page, actor)
        client = browser(user)
        response = client.post(path, data) if method == "post" else client.get(path)
        assert response.status_code == status
        if actor == "anonymous":
            assert response["Location"].startswith("/accounts/login/?next=")
        if status == 403:
            assert b"You cannot do that" in response.content
            assert b"home-frontline" not in response.content  # a refusal names no members
            assert not AuditEvent.objects.filter(
                action__in=[AuditAction.MEMBERSHIP_GRANTED, AuditAction.MEMBERSHIP_REVOKED]
            ).exists()


@pytest.mark.django_db
class DirectoryPageTests:
    def test_urls_are_named(self):
        assert reverse("agency-list") == AGENCIES
        assert reverse("agency-detail", kwargs={"code": "home-council"}) == HOME
        assert reverse("agency-members", kwargs={"code": "home-council"}) == MEMBERS
        assert reverse("dataset-detail", kwargs={"code": "home-social-care"}) == DATASET

    def test_the_list_searches_by_name_and_links_each_agency(self, region):
        response = browser(region.users["home_frontline"]).get(AGENCIES + "?q=trust")
        content = response.content.decode()
        assert 'href="/agencies/other-trust/"' in content
        assert "Home City Council" not in content
        assert '<label class="govuk-label" for="id_q">' in content
        assert AuditEvent.objects.get(action=AuditAction.AGENCY_LISTED).detail == {"filters": {"q": "trust"}}

    def test_the_list_pages_keep_the_search(self, region):
        for i in range(55):
            AgencyFactory(code=f"trust-{i:02}", name=f"Trust {i:02}")
        content = browser(region.users["home_frontline"]).get(AGENCIES + "?q=trust").content.decode()
        assert 'href="?q=trust&amp;page=2"' in content

    def test_the_agency_page_shows_its_details_and_datasets(self, region):
        response = browser(region.users["home_frontline"]).get(HOME)
        content = response.content.decode()
        assert "govuk-summary-list" in content
        assert 'href="/datasets/home-social-care/"' in content
        assert "Other NHS Trust" not in content
        assert "Manage members" not in content  # only admins see the link
        viewed = AuditEvent.objects.get(action=AuditAction.AGENCY_VIEWED)
        assert (viewed.object_ref, viewed.actor_name) == ("home-council", "home-frontline")

    def test_admins_see_the_manage_members_link(self, region):
        assert b"Manage members" in browser(region.users["home_admin"]).get(HOME).content

    def test_viewing_a_dataset_shows_its_items_and_is_audited(self, region):
        response = browser(region.users["other_officer"]).get(DATASET)
        content = response.content.decode()
        assert "<li>needs</li>" in content
        assert "Adult social care records" in content
        viewed = AuditEvent.objects.get(action=AuditAction.DATASET_VIEWED)
        assert (viewed.object_ref, viewed.agency_code, viewed.actor_name) == (
            "home-social-care",
            "home-council",
            "other-officer",
        )


@pytest.mark.django_db
class MemberPageTests:
    def test_the_member_list_shows_only_this_agencys_members_and_is_audited(self, region):
        content = browser(region.users["home_admin"]).get(MEMBERS).content.decode()
        for username in ("home-officer", "home-frontline", "home-auditor", "home-admin"):
            assert username in content
        assert "other-admin" not in content
        assert AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_LISTED).agency_code == "home-council"

    def test_every_input_has_a_label(self, region):
        content = browser(region.users["home_admin"]).get(MEMBERS).content.decode()
        for field_id in re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', content):
            assert f'for="{field_id}"' in content

    def test_adding_a_member_grants_the_role_and_says_so(self, region):
        newcomer = UserFactory(username="newcomer")
        response = browser(region.users["home_admin"]).post(
            MEMBERS, {"username": "newcomer", "email": "newcomer@example.org", "role": "governance_officer"},
            follow=True
        )
        assert response.status_code == 200
        assert "newcomer is now a governance officer in Home City Council." in response.content.decode()
        assert newcomer.groups.filter(agency_role__agency=region.home, agency_role__role="governance_officer").exists()
        event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_GRANTED)
        assert (event.actor_name, event.detail["username"]) == ("home-admin", "newcomer")

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"username": "ghost", "email": "ghost@example.org", "role": "frontline"}, "username",
             "No account matches those details. Check them, or invite the person by email instead."),
            ({"username": "", "role": "frontline"}, "username", "Enter the username of the person to add."),
            ({"username": "home-officer", "role": "frontline"}, "email", "Enter their email address."),
            ({"username": "home-officer", "role": ""}, "role", "Choose a role."),
            ({"username": "home-officer", "role": "king"}, "role", "Choose a role from the list."),
        ],
    )
    def test_errors_are_summarised_and_linked_to_their_fields(self, region, data, field, message):
        response = browser(region.users["home_admin"]).post(MEMBERS, data)
        content = response.content.decode()
        assert response.status_code == 400
        assert "govuk-error-summary" in content
        assert f'<a href="#id_{field}">{message}</a>' in content
        assert "govuk-form-group--error" in content
        assert f'id="id_{field}-error"' in content
        assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED).exists()

    def test_removing_asks_for_confirmation_first(self, region):
        client = browser(region.users["home_admin"])
        confirm = client.get(REMOVE + "?username=home-frontline&role=frontline")
        content = confirm.content.decode()
        assert "Are you sure you want to remove home-frontline as frontline worker?" in content
        assert region.users["home_frontline"].groups.exists()  # nothing happens on GET
        response = client.post(REMOVE, {"username": "home-frontline", "role": "frontline"}, follow=True)
        assert "home-frontline is no longer a frontline worker in Home City Council." in response.content.decode()
        assert not region.users["home_frontline"].groups.exists()
        assert AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_REVOKED).actor_name == "home-admin"

    def test_the_members_page_links_to_the_confirmation(self, region):
        content = browser(region.users["home_admin"]).get(MEMBERS).content.decode()
        assert 'href="/agencies/home-council/members/remove/?username=home-frontline&amp;role=frontline"' in content

    def test_the_confirmation_reads_as_english_for_every_role(self, region):
        content = browser(region.users["home_admin"]).get(REMOVE + "?username=home-frontline&role=frontline")
        assert "They will lose what a frontline worker of Home City Council may do" in content.content.decode()

    def test_nobody_is_asked_to_confirm_removing_a_role_that_is_not_held(self, region):
        client = browser(region.users["home_admin"])
        for query in ("?username=home-frontline&role=auditor", "?username=nobody-at-all&role=frontline"):
            response = client.get(REMOVE + query, follow=True)
            assert response.redirect_chain == [(MEMBERS, 302)]
            assert "so there is nothing to remove" in response.content.decode()
            assert "Are you sure" not in response.content.decode()

    def test_an_admin_is_told_at_once_they_cannot_remove_themselves(self, region):
        response = browser(region.users["home_admin"]).get(REMOVE + "?username=home-admin&role=agency_admin")
        assert response.status_code == 403
        assert "You cannot give yourself a role or take one of your own away" in response.content.decode()
        assert "Are you sure" not in response.content.decode()
        assert region.users["home_admin"].groups.exists()

    def test_an_admin_cannot_remove_themselves(self, region):
        response = browser(region.users["home_admin"]).post(REMOVE, {"username": "home-admin", "role": "agency_admin"})
        assert response.status_code == 403
        assert "Ask another administrator of Home City Council" in response.content.decode()
        assert region.users["home_admin"].groups.exists()


@pytest.mark.django_db
class PageQueryCountTests:
    """Pages cost the same number of queries with 3 rows or 30."""

    # Session and user (and the session save every request does), the navigation's roles, the header's unread
    # notifications, the page's own reads, one audit record.
    # The agency and dataset pages also ask whether the user may change them (for their edit links), and the
    # members page lists pending invitations. The agency list and an agency's page ask once whether the user holds
    # the registry-admin role (for the add and edit links).
    # Every page also shows the header's unread notifications (one query).
    PAGES = [(AGENCIES, 13), (HOME, 18), (DATASET, 13), (MEMBERS, 16)]

    @pytest.mark.parametrize(("path", "limit"), PAGES)
    def test_query_count_does_not_grow(self, region, path, limit, django_assert_max_num_queries):
        client = browser(region.users["home_admin"])

        def grow(n, start):
            for i in range(start, start + n):
                AgencyFactory(code=f"a-{i}", name=f"Agency {i}")
                DatasetFactory(code=f"d-{i}", owner=region.home)
                member(region.home, Role.FRONTLINE, f"person-{i}")

        grow(3, 0)
        with CaptureQueriesContext(connection) as small:
            assert client.get(path).status_code == 200
        grow(30, 3)
        with django_assert_max_num_queries(limit), CaptureQueriesContext(connection) as large:
            assert client.get(path).status_code == 200
        assert len(large) == len(small)
