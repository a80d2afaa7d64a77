"""The agencies, datasets and members API, as integrators see it (docs/api.md)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies import services
from agencies.choices import Role
from agencies.models import Agency, Dataset
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.clients import token_api
from tests.factories import AgencyFactory, DatasetFactory, UserFactory, member

from .conftest import matrix_cases, matrix_row

HOME = "/api/v1/agencies/home-council/"
HOME_DATASET = "/api/v1/datasets/home-social-care/"
NEW_AGENCY = {"code": "new-fire", "name": "New Fire and Rescue", "kind": "fire_rescue", "dpo_email": "dpo@fire.test"}
NEW_DATASET = {"code": "home-housing", "name": "Housing register", "owner": "home-council", "data_items": ["address"]}

WRITES = {
    AuditAction.AGENCY_CREATED,
    AuditAction.AGENCY_UPDATED,
    AuditAction.DATASET_CREATED,
    AuditAction.DATASET_UPDATED,
    AuditAction.MEMBERSHIP_GRANTED,
    AuditAction.MEMBERSHIP_REVOKED,
    AuditAction.PERMISSION_GRANTED,
    AuditAction.PERMISSION_REVOKED,
}

# endpoint: (method, path, body, {actor: status}); actors not named get the "*" status.
MATRIX = {
    "agency list": ("get", "/api/v1/agencies/", None, {"anonymous": 401, "*": 200}),
    "agency create": ("post", "/api/v1/agencies/", NEW_AGENCY, {"anonymous": 401, "superuser": 201, "*": 403}),
    "agency detail": ("get", HOME, None, {"anonymous": 401, "*": 200}),
    "agency update": (
        "patch",
        HOME,
        {"name": "Home Borough Council"},
        {"anonymous": 401, "home_admin": 200, "superuser": 200, "*": 403},
    ),
    "members list": (
        "get",
        HOME + "members/",
        None,
        {"anonymous": 401, "home_admin": 200, "superuser": 200, "*": 403},
    ),
    "member add": (
        "post",
        HOME + "members/",
        {"username": "newcomer", "email": "newcomer@example.org", "role": "frontline"},
        {"anonymous": 401, "home_admin": 201, "superuser": 201, "*": 403},
    ),
    "member remove": (
        "delete",
        HOME + "members/?username=home-frontline&role=frontline",
        None,
        {"anonymous": 401, "home_admin": 204, "superuser": 204, "*": 403},
    ),
    "dataset list": ("get", "/api/v1/datasets/", None, {"anonymous": 401, "*": 200}),
    "dataset create": (
        "post",
        "/api/v1/datasets/",
        NEW_DATASET,
        {"anonymous": 401, "home_officer": 201, "home_admin": 201, "superuser": 201, "*": 403},
    ),
    "dataset detail": ("get", HOME_DATASET, None, {"anonymous": 401, "*": 200}),
    "dataset update": (
        "patch",
        HOME_DATASET,
        {"description": "Care and support plans"},
        {"anonymous": 401, "home_officer": 200, "home_admin": 200, "superuser": 200, "*": 403},
    ),
    "unknown agency": ("get", "/api/v1/agencies/nowhere/", None, {"anonymous": 401, "*": 404}),
    "unknown agency update": ("patch", "/api/v1/agencies/nowhere/", {"name": "X"}, {"anonymous": 401, "*": 404}),
    "unknown agency members": ("get", "/api/v1/agencies/nowhere/members/", None, {"anonymous": 401, "*": 404}),
    "unknown dataset": ("get", "/api/v1/datasets/nowhere/", None, {"anonymous": 401, "*": 404}),
    "unknown dataset update": ("patch", "/api/v1/datasets/nowhere/", {"name": "X"}, {"anonymous": 401, "*": 404}),
}


def _call(client, method, path, body):
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


@pytest.mark.django_db
class PermissionMatrixTests:
    @pytest.mark.parametrize(("endpoint", "actor"), matrix_cases(MATRIX))
    def test_status_for_every_endpoint_and_role(self, region, endpoint, actor):
        method, path, body, user, status = matrix_row(region, MATRIX, endpoint, actor)
        writes_before = AuditEvent.objects.filter(action__in=WRITES).count()

        response = _call(token_api(user), method, path, body)

        assert response.status_code == status, response.content
        if response.status_code == 401:
            assert response["WWW-Authenticate"] == "Token"
        if response.status_code >= 400:
            # Refused means nothing written: no change and no grant in the log.
            assert AuditEvent.objects.filter(action__in=WRITES).count() == writes_before


@pytest.mark.django_db
class NothingLeaksTests:
    def test_members_list_shows_only_that_agencys_members(self, region):
        response = token_api(region.users["home_admin"]).get(HOME + "members/?page_size=500")
        rows = {(row["username"], row["role"]) for row in response.json()["results"]}
        assert rows == {
            ("home-officer", "governance_officer"),
            ("home-frontline", "frontline"),
            ("home-auditor", "auditor"),
            ("home-admin", "agency_admin"),
        }

    def test_a_refused_members_list_names_nobody(self, region):
        response = token_api(region.users["other_admin"]).get(HOME + "members/")
        assert response.status_code == 403
        assert b"home-officer" not in response.content

    def test_editable_datasets_are_only_the_users_own(self, region):
        officer = token_api(region.users["home_officer"]).get("/api/v1/datasets/?editable=true").json()
        frontline = token_api(region.users["home_frontline"]).get("/api/v1/datasets/?editable=true").json()
        superuser = token_api(region.users["superuser"]).get("/api/v1/datasets/?editable=true").json()
        assert [row["code"] for row in officer["results"]] == ["home-social-care"]
        assert frontline["count"] == 0
        assert superuser["count"] == 2

    def test_editable_agencies_are_the_ones_the_user_administers(self, region):
        admin = token_api(region.users["home_admin"]).get("/api/v1/agencies/?editable=true").json()
        officer = token_api(region.users["home_officer"]).get("/api/v1/agencies/?editable=true").json()
        assert [row["code"] for row in admin["results"]] == ["home-council"]
        assert officer["count"] == 0

    def test_the_directory_is_readable_by_any_signed_in_user(self, region):
        body = token_api(region.users["other_admin"]).get("/api/v1/datasets/").json()
        assert {row["code"] for row in body["results"]} == {"home-social-care", "other-discharges"}


@pytest.mark.django_db
class AgencyApiTests:
    def test_list_is_paginated_with_the_contract_fields(self, region):
        body = token_api(region.users["home_frontline"]).get("/api/v1/agencies/?page_size=1").json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 2
        assert body["next"]
        assert {"code", "name", "kind", "ico_registration", "dpo_email"} <= set(body["results"][0])

    def test_page_size_is_capped_at_500(self, region):
        Agency.objects.bulk_create(Agency(code=f"bulk-{i}", name=f"Bulk {i}", kind="other") for i in range(501))
        body = token_api(region.users["home_frontline"]).get("/api/v1/agencies/?page_size=100000").json()
        assert body["count"] == 503
        assert len(body["results"]) == 500
        assert body["next"]

    @pytest.mark.parametrize(
        ("query", "codes"),
        [
            ("kind=nhs_trust", {"other-trust"}),
            ("q=city", {"home-council"}),
            ("q=OTHER-T", {"other-trust"}),
            ("active=false", {"closed-school"}),
            ("active=true&kind=local_authority", {"home-council"}),
        ],
    )
    def test_filters(self, region, query, codes):
        AgencyFactory(code="closed-school", name="Closed School", kind="education", active=False)
        body = token_api(region.users["home_frontline"]).get(f"/api/v1/agencies/?{query}").json()
        assert {row["code"] for row in body["results"]} == codes

    @pytest.mark.parametrize("query", ["kind=castle", "active=perhaps"])
    def test_bad_filters_are_400_field_errors(self, region, query):
        response = token_api(region.users["home_frontline"]).get(f"/api/v1/agencies/?{query}")
        assert response.status_code == 400
        assert query.split("=")[0] in response.json()

    def test_list_and_detail_are_audited_with_their_filters(self, region):
        client = token_api(region.users["home_frontline"])
        client.get("/api/v1/agencies/?kind=nhs_trust&q=trust")
        client.get(HOME)
        listed = AuditEvent.objects.get(action=AuditAction.AGENCY_LISTED)
        viewed = AuditEvent.objects.get(action=AuditAction.AGENCY_VIEWED)
        assert listed.detail == {"filters": {"kind": "nhs_trust", "q": "trust"}}
        assert listed.actor_name == "home-frontline"
        assert (viewed.object_ref, viewed.agency_code, viewed.actor_name) == (
            "home-council",
            "home-council",
            "home-frontline",
        )

    def test_superuser_creates_an_agency_with_its_groups_and_grants(self, region):
        response = token_api(region.users["superuser"]).post("/api/v1/agencies/", NEW_AGENCY, format="json")
        assert response.status_code == 201
        assert response.json()["code"] == "new-fire"
        agency = Agency.objects.get(code="new-fire")
        assert agency.roles.count() == 4
        created = AuditEvent.objects.get(action=AuditAction.AGENCY_CREATED, object_ref="new-fire")
        assert created.actor_name == "root"
        grants = AuditEvent.objects.filter(action=AuditAction.PERMISSION_GRANTED, agency_code="new-fire")
        assert {e.detail["permission"] for e in grants} == {"agencies.change_agency", "agencies.manage_members"}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**NEW_AGENCY, "code": "home-council"}, "code"),
            ({**NEW_AGENCY, "code": "Not a slug!"}, "code"),
            ({**NEW_AGENCY, "dpo_email": "not-an-email"}, "dpo_email"),
            ({**NEW_AGENCY, "kind": "castle"}, "kind"),
            ({key: value for key, value in NEW_AGENCY.items() if key != "name"}, "name"),
        ],
    )
    def test_bad_agency_input_is_a_400_and_writes_nothing(self, region, body, field):
        before = Agency.objects.count()
        response = token_api(region.users["superuser"]).post("/api/v1/agencies/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert Agency.objects.count() == before
        assert not AuditEvent.objects.filter(action=AuditAction.AGENCY_CREATED, actor_name="root").exists()

    def test_agency_admin_updates_details_and_the_change_is_audited(self, region):
        response = token_api(region.users["home_admin"]).patch(
            HOME, {"name": "Home Borough Council", "siro_name": "Sam Risk"}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["name"] == "Home Borough Council"
        event = AuditEvent.objects.get(action=AuditAction.AGENCY_UPDATED)
        assert event.detail["changes"]["siro_name"] == ["", "Sam Risk"]
        assert event.actor_name == "home-admin"

    def test_agency_admin_records_the_dpo_by_name_and_the_change_is_audited(self, region):
        response = token_api(region.users["home_admin"]).patch(HOME, {"dpo_name": "Sam Jones"}, format="json")
        assert response.status_code == 200
        assert response.json()["dpo_name"] == "Sam Jones"
        event = AuditEvent.objects.get(action=AuditAction.AGENCY_UPDATED)
        assert event.detail["changes"]["dpo_name"] == ["", "Sam Jones"]

    def test_agency_admin_cannot_deactivate_their_agency(self, region):
        response = token_api(region.users["home_admin"]).patch(HOME, {"active": False}, format="json")
        assert response.status_code == 403
        region.home.refresh_from_db()
        assert region.home.active

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"code": "renamed"}, "code"), ({"dpo_email": "nope"}, "dpo_email"), ({"kind": "x"}, "kind")],
    )
    def test_bad_update_is_a_400(self, region, body, field):
        response = token_api(region.users["home_admin"]).patch(HOME, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not AuditEvent.objects.filter(action=AuditAction.AGENCY_UPDATED).exists()


@pytest.mark.django_db
class MemberApiTests:
    def test_admin_adds_a_member_and_the_grant_is_audited(self, region):
        newcomer = UserFactory(username="newcomer")
        response = token_api(region.users["home_admin"]).post(
            HOME + "members/", {"username": "newcomer", "email": "newcomer@example.org", "role": "governance_officer"},
            format="json",
        )
        assert response.status_code == 201
        assert response.content == b'{"username":"newcomer","role":"governance_officer","granted":true}'
        assert newcomer.has_perm("agencies.change_dataset", region.home_dataset)
        event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_GRANTED)
        assert event.actor_name == "home-admin"
        assert event.detail == {"username": "newcomer", "role": "governance_officer", "agency": "home-council"}

    def test_adding_an_existing_membership_is_200_and_records_nothing(self, region):
        response = token_api(region.users["home_admin"]).post(
            HOME + "members/", {"username": "home-officer", "role": "governance_officer"}, format="json"
        )
        assert response.status_code == 200
        assert response.content == b'{"username":"home-officer","role":"governance_officer","granted":false}'
        assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED).exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"username": "nobody-here", "role": "frontline"}, "username"),
            ({"username": "home-officer", "role": "king"}, "role"),
            ({"role": "frontline"}, "username"),
        ],
    )
    def test_bad_member_input_is_a_400(self, region, body, field):
        response = token_api(region.users["home_admin"]).post(HOME + "members/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_GRANTED).exists()

    def test_unknown_username_gets_the_answer_any_non_member_gets(self, region):
        response = token_api(region.users["home_admin"]).post(
            HOME + "members/", {"username": "nobody-here", "role": "frontline"}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"username": [services.NO_MATCHING_MEMBER.format(agency="Home City Council")]}

    def test_admin_removes_a_member_and_the_revoke_is_audited(self, region):
        frontline = region.users["home_frontline"]
        response = token_api(region.users["home_admin"]).delete(
            HOME + "members/?username=home-frontline&role=frontline"
        )
        assert response.status_code == 204
        assert not frontline.groups.exists()
        event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_REVOKED)
        assert event.detail["username"] == "home-frontline"

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ("username=home-frontline&role=auditor", 404),
            ("username=ghost&role=frontline", 404),
            ("role=frontline", 400),
            ("username=home-frontline&role=king", 400),
        ],
    )
    def test_removing_what_is_not_there(self, region, query, status):
        response = token_api(region.users["home_admin"]).delete(HOME + f"members/?{query}")
        assert response.status_code == status
        assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()

    def test_an_admin_cannot_remove_their_own_admin_role(self, region):
        response = token_api(region.users["home_admin"]).delete(
            HOME + "members/?username=home-admin&role=agency_admin"
        )
        assert response.status_code == 403
        assert "You cannot give yourself a role or take one of your own away" in response.json()["detail"]
        assert region.users["home_admin"].groups.exists()

    def test_listing_members_is_audited(self, region):
        token_api(region.users["home_admin"]).get(HOME + "members/?role=frontline")
        event = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_LISTED)
        assert (event.agency_code, event.detail) == ("home-council", {"filters": {"role": "frontline"}})

    def test_the_role_filter(self, region):
        body = token_api(region.users["home_admin"]).get(HOME + "members/?role=auditor").json()
        assert [row["username"] for row in body["results"]] == ["home-auditor"]


@pytest.mark.django_db
class DatasetApiTests:
    def test_officer_registers_a_dataset_and_can_then_edit_it(self, region):
        client = token_api(region.users["home_officer"])
        response = client.post("/api/v1/datasets/", NEW_DATASET, format="json")
        assert response.status_code == 201
        body = response.json()
        assert (body["owner"], body["special_category"], body["criminal_offence"]) == ("home-council", False, False)
        assert client.patch("/api/v1/datasets/home-housing/", {"name": "Housing"}, format="json").status_code == 200
        assert AuditEvent.objects.filter(action=AuditAction.DATASET_CREATED, object_ref="home-housing").exists()
        grants = AuditEvent.objects.filter(action=AuditAction.PERMISSION_GRANTED, object_ref="home-housing")
        assert {e.detail["role"] for e in grants} == {"governance_officer", "agency_admin"}

    def test_officer_of_another_agency_cannot_register_for_home(self, region):
        response = token_api(region.users["other_officer"]).post("/api/v1/datasets/", NEW_DATASET, format="json")
        assert response.status_code == 403
        assert not Dataset.objects.filter(code="home-housing").exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**NEW_DATASET, "owner": "nowhere"}, "owner"),
            ({**NEW_DATASET, "code": "home-social-care"}, "code"),
            ({**NEW_DATASET, "code": "bad code"}, "code"),
            ({**NEW_DATASET, "data_items": ["name", "Name"]}, "data_items"),
            ({**NEW_DATASET, "data_items": "name"}, "data_items"),
            ({**NEW_DATASET, "classification": "TOP SECRET"}, "classification"),
            ({**NEW_DATASET, "special_category": "maybe"}, "special_category"),
        ],
    )
    def test_bad_dataset_input_is_a_400_and_writes_nothing(self, region, body, field):
        response = token_api(region.users["home_officer"]).post("/api/v1/datasets/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not AuditEvent.objects.filter(action=AuditAction.DATASET_CREATED, actor_name="home-officer").exists()

    def test_unknown_owner_is_named_in_plain_english(self, region):
        response = token_api(region.users["home_officer"]).post(
            "/api/v1/datasets/", {**NEW_DATASET, "owner": "nowhere"}, format="json"
        )
        assert response.json() == {"owner": ["No agency has the code nowhere."]}

    def test_moving_a_dataset_needs_a_role_in_the_new_owner(self, region):
        response = token_api(region.users["home_officer"]).patch(HOME_DATASET, {"owner": "other-trust"}, format="json")
        assert response.status_code == 403
        region.home_dataset.refresh_from_db()
        assert region.home_dataset.owner == region.home

    def test_moving_a_dataset_moves_who_may_edit_it(self, region):
        mover = member(region.home, Role.GOVERNANCE_OFFICER, "mover")
        member(region.other, Role.GOVERNANCE_OFFICER, "mover")
        response = token_api(mover).patch(HOME_DATASET, {"owner": "other-trust"}, format="json")
        assert response.status_code == 200
        assert response.json()["owner"] == "other-trust"
        client = token_api(region.users["home_officer"])
        assert client.patch(HOME_DATASET, {"name": "Mine again?"}, format="json").status_code == 403
        assert (
            token_api(region.users["other_officer"]).patch(HOME_DATASET, {"name": "Ours"}, format="json").status_code
            == 200
        )
        assert (
            AuditEvent.objects.filter(action=AuditAction.PERMISSION_REVOKED, object_ref="home-social-care").count() == 2
        )

    @pytest.mark.parametrize(
        ("query", "codes"),
        [
            ("owner=other-trust", {"other-discharges"}),
            ("special_category=true", {"other-discharges"}),
            ("special_category=false", {"home-social-care"}),
            ("criminal_offence=true", set()),
            ("q=social", {"home-social-care"}),
        ],
    )
    def test_filters(self, region, query, codes):
        body = token_api(region.users["home_frontline"]).get(f"/api/v1/datasets/?{query}").json()
        assert {row["code"] for row in body["results"]} == codes

    def test_list_and_detail_are_audited(self, region):
        client = token_api(region.users["other_officer"])
        client.get("/api/v1/datasets/?owner=home-council")
        client.get(HOME_DATASET)
        assert AuditEvent.objects.get(action=AuditAction.DATASET_LISTED).detail == {
            "filters": {"owner": "home-council"}
        }
        viewed = AuditEvent.objects.get(action=AuditAction.DATASET_VIEWED)
        assert (viewed.object_ref, viewed.agency_code, viewed.actor_name) == (
            "home-social-care",
            "home-council",
            "other-officer",
        )

    def test_detail_has_the_contract_fields(self, region):
        body = token_api(region.users["home_frontline"]).get(HOME_DATASET).json()
        assert body["owner"] == "home-council"
        assert body["data_items"] == ["name", "needs"]
        assert {"code", "name", "owner", "description", "special_category", "criminal_offence"} <= set(body)


# What one audit.services.record() costs inside a test's transaction: savepoint, the actor's agencies (read once
# per request, so that the event names every agency it concerns), insert, release.
RECORD = 4


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.django_db
class QueryCountTests:
    """Every list and detail endpoint costs the same number of queries whether it shows 3 rows or 30."""

    # Token lookup (1; its last use is written at most once a minute) + count and page (2) for lists, or the row (1)
    # for details, + the audit event.
    ENDPOINTS = [
        ("/api/v1/agencies/", 3 + RECORD),
        ("/api/v1/agencies/?editable=true&q=a", 3 + RECORD),
        (HOME, 2 + RECORD),
        # + the agency, and guardian's two permission queries (user and group grants).
        (HOME + "members/", 6 + RECORD),
        ("/api/v1/datasets/", 3 + RECORD),
        ("/api/v1/datasets/?editable=true&owner=home-council", 3 + RECORD),
        (HOME_DATASET, 2 + RECORD),
    ]

    def _grow(self, region, n):
        for i in range(n):
            AgencyFactory(code=f"a-{i}", name=f"Agency {i}")
            DatasetFactory(code=f"d-{i}", owner=region.home)
            member(region.home, Role.FRONTLINE, f"person-{i}")

    @pytest.mark.parametrize(("path", "limit"), ENDPOINTS)
    def test_query_count_is_pinned_and_does_not_grow(self, region, path, limit, django_assert_max_num_queries):
        client = token_api(region.users["home_admin"])
        self._grow(region, 3)
        small = _queries(client, path)
        self._grow(region, 30)
        with django_assert_max_num_queries(limit):
            large = _queries(client, path)
        assert large == small


@pytest.mark.django_db
class SchemaTests:
    def test_schema_describes_every_agencies_endpoint(self, client):
        response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        paths = json.loads(response.content)["paths"]
        assert set(paths["/api/v1/agencies/"]) >= {"get", "post"}
        assert set(paths["/api/v1/agencies/{code}/"]) >= {"get", "patch"}
        assert set(paths["/api/v1/agencies/{code}/members/"]) >= {"get", "post", "delete"}
        assert set(paths["/api/v1/datasets/"]) >= {"get", "post"}
        assert set(paths["/api/v1/datasets/{code}/"]) >= {"get", "patch"}
        list_params = {p["name"] for p in paths["/api/v1/datasets/"]["get"]["parameters"]}
        assert {"owner", "special_category", "criminal_offence", "q", "page", "page_size"} <= list_params
        delete_params = {p["name"] for p in paths["/api/v1/agencies/{code}/members/"]["delete"]["parameters"]}
        assert {"username", "role"} <= delete_params
