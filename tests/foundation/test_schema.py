"""A schema true to every response: valid OpenAPI, in the encoding asked for, and saying what the API really sends.

Every API test's responses are also checked against it, by tests/openapi_check.py (the conftest fixture).
"""

import json

import pytest
import yaml
from django.http import HttpResponse
from openapi_spec_validator import validate

from agencies.choices import Role
from tests import openapi_check
from tests.factories import AgencyFactory, agreement_factory, api_key, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/v1/schema/?format=json").json()


def ref(schema: dict, node: dict) -> dict:
    """A schema node, following one $ref."""
    if "$ref" in node:
        return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


@pytest.fixture
def token(db):
    council = AgencyFactory(code="lead-council", name="Lead Council")
    return f"Token {api_key(member(council, Role.GOVERNANCE_OFFICER))}"


class SchemaDocumentTests:
    def test_the_schema_passes_openapi_spec_validator(self, schema):
        validate(schema)

    def test_format_json_returns_json_and_format_yaml_yaml(self, client):
        """/api/v1/schema/?format=json answered YAML."""
        response = client.get("/api/v1/schema/?format=json")
        assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
        assert json.loads(response.content)["openapi"].startswith("3.")
        response = client.get("/api/v1/schema/?format=yaml")
        assert response["Content-Type"].startswith("application/vnd.oai.openapi")
        assert yaml.safe_load(response.content)["info"]["title"] == "Sharing Registry API"

    def test_export_and_download_bodies_are_binary(self, schema):
        for path in ("/api/v1/audit/export/", "/api/v1/audit/exports/{job_id}/download/"):
            content = schema["paths"][path]["get"]["responses"]["200"]["content"]
            assert set(content) == {"text/csv", "application/x-ndjson"}
            for media in content.values():
                assert media["schema"] == {"type": "string", "format": "binary"}, path

    def test_an_email_that_may_be_blank_is_documented_as_an_email_or_empty(self, schema):
        """A member's `email` may be "" despite `format: email`."""
        fields = {("MemberOutput", "email"), ("AgencyOutput", "dpo_email"), ("PatchedAgencyUpdateInputRequest",
                                                                              "dpo_email")}
        for name, field in fields:
            branches = schema["components"]["schemas"][name]["properties"][field]["oneOf"]
            assert {"type": "string", "maxLength": 0} in branches, name
            assert any(b.get("format") == "email" for b in branches), name

    def test_lifecycle_errors_are_a_typed_component(self, schema):
        """Lifecycle error responses had no type, so generated clients got untyped dicts."""
        for action in ("submit", "approve", "reject", "suspend", "reinstate", "revoke", "amend"):
            responses = schema["paths"][f"/api/v1/agreements/{{reference}}/{action}/"]["post"]["responses"]
            for code in ("403", "404", "409"):
                body = responses[code]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (action, code)
        error = schema["components"]["schemas"]["Error"]
        assert error["required"] == ["detail"] and error["properties"]["detail"]["type"] == "string"
        assert "wrong_state" in error["properties"]["code"]["enum"]

    def test_page_size_has_its_maximum_and_415_is_documented(self, schema):
        listing = schema["paths"]["/api/v1/agreements/"]
        page_size = next(p for p in listing["get"]["parameters"] if p["name"] == "page_size")
        assert page_size["schema"]["maximum"] == 500 and page_size["schema"]["minimum"] == 1
        assert "415" in listing["post"]["responses"]

    def test_an_events_at_is_a_date_time(self, schema):
        assert schema["components"]["schemas"]["EventOutput"]["properties"]["at"]["format"] == "date-time"


class LegalBasisDetailTests:
    def test_one_legal_basis_by_its_code(self, client, token, django_assert_max_num_queries):
        with django_assert_max_num_queries(3):
            response = client.get("/api/v1/legal-bases/ukgdpr-6-1-e/", HTTP_AUTHORIZATION=token)
        assert response.status_code == 200
        body = response.json()
        assert body["code"] == "ukgdpr-6-1-e" and body["kind"] == "article6" and body["description"]

    def test_an_unknown_code_is_404_and_anonymous_is_401(self, client, token):
        assert client.get("/api/v1/legal-bases/no-such-law/", HTTP_AUTHORIZATION=token).status_code == 404
        assert client.get("/api/v1/legal-bases/ukgdpr-6-1-e/").status_code == 401


class ResponseCheckTests:
    """The fixture that holds every API test to the schema does catch a response the schema does not describe."""

    def test_a_body_missing_a_required_field_is_reported(self, client, token):
        real = client.get("/api/v1/legal-bases/ukgdpr-6-1-e/", HTTP_AUTHORIZATION=token)
        assert openapi_check.problems() == [] and openapi_check.checked() >= 1
        wrong = HttpResponse(json.dumps({"title": "no code"}), content_type="application/json")
        wrong.wsgi_request = real.wsgi_request
        openapi_check.validate(wrong)
        found = openapi_check.problems()
        assert len(found) == 1 and "GET /api/v1/legal-bases/ukgdpr-6-1-e/ -> 200" in found[0]
        openapi_check.start()  # this test's own mismatch was on purpose

    def test_an_undocumented_status_is_reported(self, client, token):
        real = client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=token)
        teapot = HttpResponse(b"{}", status=418, content_type="application/json")
        teapot.wsgi_request = real.wsgi_request
        openapi_check.validate(teapot)
        assert len(openapi_check.problems()) == 1
        openapi_check.start()

    def test_a_415_is_a_documented_json_answer(self, client, token):
        response = client.post("/api/v1/agreements/", "title=x", content_type="text/plain", HTTP_AUTHORIZATION=token)
        assert response.status_code == 415 and "detail" in response.json()

    def test_a_member_with_no_email_is_described_by_the_schema(self, client, db):
        council = AgencyFactory(code="lead-council", name="Lead Council")
        admin = member(council, Role.AGENCY_ADMIN, username="the-admin", is_superuser=True)
        member(council, Role.FRONTLINE, username="no-email", email="")
        response = client.get("/api/v1/agencies/lead-council/members/",
                              HTTP_AUTHORIZATION=f"Token {api_key(admin)}")
        assert response.status_code == 200 and "" in [m["email"] for m in response.json()["results"]]

    def test_an_agreements_responses_are_checked(self, client, db):
        agreement = agreement_factory(state="active")
        officer = member(agreement.lead_agency, Role.GOVERNANCE_OFFICER, username="checker")
        auth = f"Token {api_key(officer)}"
        before = openapi_check.checked()
        assert client.get(f"/api/v1/agreements/{agreement.reference}/", HTTP_AUTHORIZATION=auth).status_code == 200
        assert client.post(f"/api/v1/agreements/{agreement.reference}/submit/", HTTP_AUTHORIZATION=auth
                           ).status_code == 409
        assert openapi_check.checked() == before + 2
