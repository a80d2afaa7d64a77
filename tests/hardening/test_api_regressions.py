"""Each case the fuzzing and the bad-input tests found, kept by name so it never comes back.

Every test here failed (a 500, or a response outside the schema) before its fix; the fix is named in each docstring.
"""

import json

import pytest

from agencies.choices import AgencyKind, Role
from agencies.services import agency_create
from agreements.models import Agreement
from audit.models import AuditEvent
from tests.dates import END, REVIEW, START, iso
from tests.factories import PASSWORD, UserFactory, agreement_factory, api_key, member


@pytest.fixture
def officer(db):
    council = agency_create(actor=None, code="lead-council", name="Lead Council", kind=AgencyKind.LOCAL_AUTHORITY)
    agency_create(actor=None, code="nhs-provider", name="NHS Provider", kind=AgencyKind.NHS_TRUST)
    agreement_factory(state="active")
    user = member(council, Role.GOVERNANCE_OFFICER)
    return {"user": user, "auth": f"Token {api_key(user)}"}


@pytest.fixture
def auditor(officer):
    from agencies.models import Agency

    user = member(Agency.objects.get(code="lead-council"), Role.AUDITOR)
    return f"Token {api_key(user)}"


def terms(**overrides):
    body = {
        "title": "Hospital discharge", "purpose": "Plan care", "lead_agency": "lead-council",
        "start_date": iso(START), "end_date": iso(END), "review_date": iso(REVIEW),
        "flows": [{"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                   "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}],
    }
    body.update(overrides)
    return body


def post(client, auth, path, raw):
    return client.post(path, data=raw, content_type="application/json", HTTP_AUTHORIZATION=auth)


@pytest.mark.django_db
class SchemaRegressionTests:
    def test_a_page_past_the_end_answers_a_documented_404(self, client, officer):
        """Schemathesis ST103: `?page=51097` gave a 404 the schema did not list. Fix: sharing_registry/schema.py
        documents 400/401/403/404/409/413/429 with their JSON body on every operation."""
        schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
                assert "Retry-After" in operation["responses"]["429"]["headers"]
        listing = schema["paths"]["/api/v1/agencies/"]["get"]["responses"]
        assert listing["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
        response = client.get("/api/v1/agencies/?page=51097", HTTP_AUTHORIZATION=officer["auth"])
        assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}


    def test_an_api_url_that_matches_no_route_is_a_json_404(self, client, officer):
        """Schemathesis ST105 (on the export-job URLs, whose `<uuid:job_id>` refuses other text): an API URL that
        matched no route got the HTML 404 page. Fix: handler404 = sharing_registry.views.not_found."""
        for path in ("/api/v1/no-such-thing/", "/api/v1/agreements/ISA-1/no-such-action/", "/api/v1/audit/x/y/"):
            response = client.get(path, HTTP_AUTHORIZATION=officer["auth"])
            assert response.status_code == 404 and response["Content-Type"] == "application/json", path
            assert response.json() == {"detail": "Not found."}
        page = client.get("/no-such-page/")
        assert page.status_code == 404 and "Page not found" in page.content.decode()  # people still get the page


@pytest.mark.django_db
class BodyRegressionTests:
    def test_an_oversized_json_body_is_a_413_not_a_500(self, client, officer, settings):
        """DRF read request.body past DATA_UPLOAD_MAX_MEMORY_SIZE and Django's RequestDataTooBig became a 500.
        Fix: sharing_registry.api.BoundedJSONParser and the exception handler answer 413 with a detail."""
        raw = json.dumps(terms(purpose="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)))
        response = post(client, officer["auth"], "/api/v1/agreements/", raw)
        assert response.status_code == 413
        assert response.json() == {"detail": "The request is too large. Send at most 1 MB."}
        assert Agreement.objects.count() == 1

    def test_a_lone_surrogate_in_json_is_a_400_not_a_500(self, client, officer):
        """JSON may escape a lone surrogate (\\ud800); saving it raised UnicodeEncodeError (500) on both databases.
        Fix: sharing_registry.api.BoundedJSONParser refuses it as a parse error."""
        raw = json.dumps(terms(title="x")).replace('"x"', '"\\ud800"')
        events = AuditEvent.objects.count()
        response = post(client, officer["auth"], "/api/v1/agreements/", raw)
        assert response.status_code == 400
        assert response.json() == {"detail": "The request holds text that is not valid Unicode (a lone surrogate)."}
        assert Agreement.objects.count() == 1 and AuditEvent.objects.count() == events

    def test_an_agreement_from_year_1_to_9999_is_a_400(self, client, officer):
        """Year 1 to 9999 was accepted and saved (by the API and the import). Fix: agreements/rules.py bounds the
        dates to those a check may ask about."""
        raw = json.dumps(terms(start_date="0001-01-01", end_date="9999-12-31", review_date="5000-01-01"))
        response = post(client, officer["auth"], "/api/v1/agreements/", raw)
        assert response.status_code == 400
        assert response.json()["start_date"] == ["Give a date between 01/01/2000 and 31/12/2100."]
        assert set(response.json()) == {"start_date", "end_date", "review_date"}

    def test_a_purpose_of_100000_characters_is_a_400(self, client, officer):
        """An unbounded purpose (or dataset description) took 100,000 characters. Fix: 10,000 at most."""
        response = post(client, officer["auth"], "/api/v1/agreements/", json.dumps(terms(purpose="x" * 100_000)))
        assert response.status_code == 400
        assert response.json()["purpose"] == ["Keep the purpose to 10,000 characters or fewer."]  # every channel


@pytest.mark.django_db
class NulRegressionTests:
    def test_a_nul_in_an_api_path_is_a_404_not_a_500(self, client, officer):
        """PostgreSQL refuses NUL in a query: /api/v1/agencies/a%00b/ was a 500 there.
        Fix: sharing_registry.middleware.NulInPathMiddleware answers 404."""
        for path in ("/api/v1/agencies/a%00b/", "/api/v1/datasets/a%00b/", "/api/v1/agreements/ISA%00/"):
            response = client.get(path, HTTP_AUTHORIZATION=officer["auth"])
            assert response.status_code == 404 and response.json() == {"detail": "Not found."}
        client.force_login(officer["user"])
        assert client.get("/agencies/a%00b/").status_code == 404

    def test_a_nul_in_the_public_searches_is_ignored_not_a_500(self, client, officer):
        """/public/?q= and /public/map/?agency= passed NUL to PostgreSQL: a 500 for anyone, signed in or not.
        Fix: sharing_registry/views.py strips NUL from search text."""
        register = client.get("/public/?q=Hospital%00")
        assert register.status_code == 200 and "Hospital discharge" in register.content.decode()
        assert client.get("/public/map/?agency=Lead%00").status_code == 200


@pytest.mark.django_db
class AuditFilterRegressionTests:
    def test_until_the_last_day_of_9999_is_a_400_not_a_500(self, client, auditor):
        """`until=9999-12-31` means up to the next midnight, which does not exist: OverflowError, a 500.
        Fix: audit/apis.py DateOrDateTimeField calls it an invalid date."""
        for query in ("until=9999-12-31", "since=9999-12-31T23:59:59-12:00"):
            for path in ("/api/v1/audit/events/", "/api/v1/audit/export/"):
                response = client.get(f"{path}?{query}", HTTP_AUTHORIZATION=auditor)
                assert response.status_code == 400, (path, query)
                field = query.split("=")[0]
                assert response.json() == {
                    field: ["Enter a date (2026-11-24) or a date and time (2026-11-24T10:00:00Z)."]}


@pytest.mark.django_db
class SignInRegressionTests:
    def test_a_5000_character_username_is_a_failed_sign_in_not_a_500(self, client):
        """django-axes stored the attempted username in a 255-character column; PostgreSQL refused 5,000 (500).
        Fix: AXES_USERNAME_CALLABLE (sharing_registry.views.attempted_username) bounds it to 150."""
        UserFactory(username="real-user")
        for path in ("/accounts/login/", "/admin/login/"):
            response = client.post(path, {"username": "u" * 5000, "password": PASSWORD})
            assert response.status_code == 200
        event = AuditEvent.objects.filter(action="auth.login_failed").latest("seq")
        assert event.detail["username"] == "u" * 150  # the audit keeps the attempt, bounded
