"""POST /api/v1/checks/ as the contract describes it."""

import pytest
from rest_framework.test import APIClient

from agencies.choices import Role
from audit.models import AuditEvent
from tests.agreements.builders import build_agreement
from tests.clients import api
from tests.dates import TODAY, iso
from tests.factories import AgencyFactory, DatasetFactory, UserFactory, api_key, member

pytestmark = pytest.mark.django_db
URL = "/api/v1/checks/"


@pytest.fixture
def register():
    council = AgencyFactory(code="mcc", name="Manchester City Council")
    fire = AgencyFactory(code="gm-fire", name="Greater Manchester Fire and Rescue")
    dataset = DatasetFactory(code="smoking-risk", owner=council, data_items=["name", "address"])
    agreement = build_agreement(provider=council, recipient=fire, dataset=dataset, bases=("ukgdpr-6-1-e",))
    return {"council": council, "fire": fire, "agreement": agreement}


QUESTION = {"provider": "mcc", "recipient": "gm-fire", "dataset": "smoking-risk", "purpose": "Home visit"}


class CheckPermissionTests:
    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            ("anonymous", 401),
            ("unrelated_frontline", 403),
            ("provider_frontline", 200),
            ("recipient_frontline", 200),
            ("provider_officer", 200),
            ("unrelated_auditor", 200),
            ("superuser", 200),
        ],
    )
    def test_who_may_ask(self, register, who, expected):
        other = AgencyFactory(code="elsewhere")
        users = {
            "anonymous": None,
            "unrelated_frontline": member(other, Role.FRONTLINE),
            "provider_frontline": member(register["council"], Role.FRONTLINE),
            "recipient_frontline": member(register["fire"], Role.FRONTLINE),
            "provider_officer": member(register["council"], Role.GOVERNANCE_OFFICER),
            "unrelated_auditor": member(other, Role.AUDITOR),
            "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
        }
        response = api(users[who]).post(URL, QUESTION, format="json")
        assert response.status_code == expected, response.content
        if expected == 401:
            assert response["WWW-Authenticate"] == "Token"
        if expected == 403:
            assert "agency you belong to" in response.json()["detail"]
            assert not AuditEvent.objects.filter(action__startswith="check.").exists()

    def test_a_token_authenticated_system_gets_the_contract_shape(self, register):

        user = member(register["council"], Role.FRONTLINE)
        token = api_key(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        body = client.post(URL, {**QUESTION, "on": iso(TODAY)}, format="json").json()
        assert body["allowed"] is True
        assert body["agreement"] == register["agreement"].reference
        assert body["legal_bases"] == ["ukgdpr-6-1-e"]
        assert register["agreement"].reference in body["reason"]
        assert body["checked_at"].endswith("Z")
        event = AuditEvent.objects.get(seq=body["event"])
        assert event.action == "check.allowed" and event.actor_id == user.pk


class CheckInputTests:
    @pytest.fixture
    def frontline(self, register):
        return api(member(register["council"], Role.FRONTLINE))

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"recipient": "gm-fire", "dataset": "smoking-risk"}, "provider"),
            ({**QUESTION, "on": "not-a-date"}, "on"),
            ({**QUESTION, "on": "9999-12-31"}, "on"),
            ({**QUESTION, "on": "0001-01-01"}, "on"),
            ({**QUESTION, "dataset": "no such thing"}, "dataset"),
            ({**QUESTION, "data_items": "name"}, "data_items"),
        ],
    )
    def test_bad_input_gets_a_field_error(self, frontline, payload, field):
        response = frontline.post(URL, payload, format="json")
        assert response.status_code == 400
        assert field in response.json()

    def test_a_day_that_does_not_exist_is_called_that(self, frontline):
        response = frontline.post(URL, {**QUESTION, "on": "2026-02-30"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"on": ["There is no such date as 2026-02-30: check the day and the month."]}

    def test_an_unknown_dataset_is_named(self, frontline):
        response = frontline.post(URL, {**QUESTION, "dataset": "ghost-data"}, format="json")
        assert response.status_code == 400
        assert "ghost-data" in response.json()["dataset"][0]

    def test_a_denial_says_why(self, frontline):
        response = frontline.post(URL, {**QUESTION, "provider": "gm-fire", "recipient": "mcc"}, format="json")
        body = response.json()
        assert response.status_code == 200
        assert body["allowed"] is False
        assert "not from Greater Manchester Fire and Rescue to Manchester City Council" in body["reason"]
        assert AuditEvent.objects.get(seq=body["event"]).action == "check.denied"

    def test_query_count_is_constant(self, register, django_assert_max_num_queries):

        for _ in range(10):
            build_agreement(provider=register["council"], recipient=register["fire"],
                            dataset=register["agreement"].current_version.flows.get().dataset)
        token = api_key(member(register["council"], Role.FRONTLINE))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        # token + membership + decision (2) + audit insert, inside one savepoint-free request
        with django_assert_max_num_queries(5):
            assert client.post(URL, QUESTION, format="json").status_code == 200


class CheckResponseTests:
    """The endpoint builds its body directly (it is the hottest path); it must say exactly what the serializer says."""

    @pytest.mark.parametrize(
        "question",
        [
            QUESTION,
            {**QUESTION, "data_items": ["name", "bank details"]},
            {**QUESTION, "provider": "gm-fire", "recipient": "mcc"},
            {**QUESTION, "recipient": "elsewhere"},
            {**QUESTION, "on": "2001-01-01"},
        ],
    )
    def test_body_matches_the_output_serializer(self, register, question):
        import datetime as dt

        from agreements import decisions
        from agreements.api.serializers import CheckOutputSerializer, check_response

        AgencyFactory(code="elsewhere")
        asked = {**question}
        if "on" in asked:
            asked["on"] = dt.date.fromisoformat(asked["on"])
        decision = decisions.check(**asked)
        assert check_response(decision) == dict(CheckOutputSerializer(decision).data)
        body = api(member(register["council"], Role.FRONTLINE)).post(URL, question, format="json").json()
        assert set(body) == set(CheckOutputSerializer().fields)
