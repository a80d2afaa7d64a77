"""What responses keep and tell: no-store on everything meant for one person, and a /healthz that tells the public
only up or down."""

import pytest

from agencies.choices import Role
from tests.factories import AgencyFactory, agreement_factory, api_key, member

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.9"  # a documentation address: not internal


@pytest.fixture
def council():
    return AgencyFactory(code="lead-council", name="Lead Council")


class NoStoreTests:
    """Authenticated pages and API responses had no Cache-Control, so a shared computer's browser cache or a proxy
    could keep an agreement's full record or the audit log."""

    @pytest.mark.parametrize("path", ["/", "/agreements/", "/check/", "/audit/", "/agencies/", "/public/"])
    def test_every_page_for_a_signed_in_person_is_no_store(self, client, council, path):
        client.force_login(member(council, Role.AUDITOR))
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]

    def test_an_agreement_page_and_its_api_body_are_no_store(self, client, council):
        agreement = agreement_factory(lead=council, state="active")
        officer = member(council, Role.GOVERNANCE_OFFICER, username="reader")
        client.force_login(officer)
        assert "no-store" in client.get(f"/agreements/{agreement.reference}/")["Cache-Control"]
        token = api_key(officer)
        for path in (f"/api/v1/agreements/{agreement.reference}/", "/api/v1/agreements/", "/api/v1/legal-bases/",
                     "/api/v1/agreements/NO-SUCH-1/"):
            response = client.get(path, HTTP_AUTHORIZATION=f"Token {token}")
            assert response.status_code in (200, 404)
            assert "no-store" in response["Cache-Control"], path

    def test_an_answer_to_credentials_is_no_store_even_when_they_are_refused(self, client):
        response = client.get("/api/v1/agreements/", HTTP_AUTHORIZATION="Token not-a-real-key")
        assert response.status_code == 401
        assert "no-store" in response["Cache-Control"]

    def test_the_public_register_for_an_anonymous_visitor_is_not_forced_out_of_caches(self, client):
        response = client.get("/public/")
        assert response.status_code == 200
        assert "no-store" not in response.get("Cache-Control", "")


class HealthzTests:
    """/healthz told anyone the database vendor and the migration state."""

    def test_the_public_learns_only_up_or_down(self, client):
        response = client.get("/healthz", REMOTE_ADDR=OUTSIDE)
        assert response.status_code == 200
        assert response.json() == {"status": "up"}

    def test_an_internal_address_gets_the_details(self, client):
        body = client.get("/healthz", REMOTE_ADDR="127.0.0.1").json()
        assert body["database"]["ok"] is True and body["database"]["vendor"] in ("sqlite", "postgresql")
        assert body["database"]["migrations_pending"] == 0 and "broker" in body

    def test_the_monitoring_token_gets_the_details_from_anywhere(self, client, settings):
        settings.HEALTHZ_TOKEN = "monitoring-secret"
        body = client.get("/healthz", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer monitoring-secret").json()
        assert body["status"] == "ok" and body["database"]["ok"] is True

    def test_a_wrong_token_is_treated_as_the_public(self, client, settings):
        settings.HEALTHZ_TOKEN = "monitoring-secret"
        response = client.get("/healthz", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer guess")
        assert response.json() == {"status": "up"}

    def test_behind_a_proxy_the_clients_address_counts_not_the_proxys(self, client, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        response = client.get("/healthz", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=OUTSIDE)
        assert response.json() == {"status": "up"}
