import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient


@pytest.mark.django_db
class HealthTests:
    def test_healthz_reports_database_and_broker(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert body["database"]["ok"] is True
        assert body["database"]["migrations_pending"] == 0
        assert "broker" in body

    def test_every_response_carries_a_request_id(self, client):
        response = client.get("/healthz")
        assert uuid.UUID(response["X-Request-ID"])

    def test_a_well_formed_incoming_request_id_is_kept(self, client):
        rid = str(uuid.uuid4())
        response = client.get("/healthz", HTTP_X_REQUEST_ID=rid)
        assert response["X-Request-ID"] == rid


@pytest.mark.django_db
class SchemaTests:
    def test_schema_is_served_and_valid_openapi(self, client):
        response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        schema = json.loads(response.content)
        assert schema["openapi"].startswith("3.")
        assert schema["info"]["title"] == "Sharing Registry API"

    def test_interactive_docs_are_beside_the_schema(self, client):
        assert client.get("/api/v1/docs/").status_code == 200


@pytest.mark.django_db
class AuthenticationTests:
    def test_anonymous_api_request_gets_401_with_a_token_challenge(self):
        response = APIClient().get("/api/v1/legal-bases/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"

    def test_anonymous_browser_request_is_sent_to_sign_in(self, client):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_sign_in_page_renders(self, client):
        response = client.get("/accounts/login/")
        assert response.status_code == 200
        assert b"Sign in" in response.content

    def test_token_from_drf_create_token_authenticates(self):
        from django.core.management import call_command

        get_user_model().objects.create_user("ada", password="a-long-passphrase")
        from io import StringIO

        out = StringIO()
        call_command("drf_create_token", "ada", stdout=out)
        key = out.getvalue().split()[2]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get("/api/v1/legal-bases/").status_code == 200


@pytest.mark.django_db
def test_schema_generates_without_warnings_and_validates(tmp_path):
    """Outside tools are pointed at /api/v1/schema/: it must be valid OpenAPI and describe every endpoint."""
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/v1/checks/" in target.read_text()


@pytest.mark.django_db
def test_one_structured_log_line_per_request_carries_the_request_id(client, caplog):
    from sharing_registry.logging import JsonFormatter

    with caplog.at_level("INFO", logger="sharing_registry.request"):
        response = client.get("/healthz")
    lines = [r for r in caplog.records if r.name == "sharing_registry.request"]
    assert len(lines) == 1
    logged = json.loads(JsonFormatter().format(lines[0]))
    assert logged["request_id"] == response["X-Request-ID"]
    assert logged["path"] == "/healthz" and logged["status"] == 200 and logged["method"] == "GET"


@pytest.mark.django_db
def test_govuk_fonts_are_served_where_the_css_asks_for_them(client):
    """The compiled GOV.UK CSS asks for /assets/fonts/...; whitenoise serves them before any session work."""
    from django.conf import settings

    font = next((settings.GOVUK_FRONTEND_DIST / "govuk" / "assets" / "fonts").glob("*.woff2"))
    response = client.get(f"/assets/fonts/{font.name}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response
    assert b"".join(response.streaming_content)[:4] == b"wOF2"


class ApiSettingsImportTests:
    def test_the_api_settings_load_first_in_a_fresh_process(self):
        """A Celery worker's start-up checks read DEFAULT_PAGINATION_CLASS before anything imports DRF's views;
        that order once made sharing_registry.api import itself half-built and the worker exit."""
        code = ("import django; django.setup(); from rest_framework.settings import api_settings as s; "
                "print(s.DEFAULT_PAGINATION_CLASS.__name__, s.DEFAULT_PARSER_CLASSES[0].__name__)")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).resolve().parents[2],
                              env={**os.environ, "DJANGO_SETTINGS_MODULE": "sharing_registry.settings"})
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split()[-2:] == ["Pagination", "BoundedJSONParser"]
