"""Production settings, read from the real settings module in a subprocess with a production-like environment."""

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "SECRET_KEY", "AUDIT_SIGNING_KEY",
                     "AUDIT_WITNESS_DIR", "MIGRATE_DATABASE_URL", "DEBUG", "SECURE_SSL_REDIRECT", "ALLOWED_HOSTS",
                     "CACHE_URL", "AUDIT_SIGNING_KEY_GENERATE", "AUDIT_SIGNING_KEY_FILE", "ENV_FILE",
                     "DJANGO_ALLOW_ASYNC_UNSAFE")  # the browser tests set the last; a deployment must not


def production_env(tmp_path, **overrides) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env.update({
        "DJANGO_SETTINGS_MODULE": "sharing_registry.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "AUDIT_SIGNING_KEY_FILE": str(tmp_path / "never-generated.key"),
        "AUDIT_WITNESS_DIR": str(tmp_path / "audit-witness"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/production.sqlite3",
        "ALLOWED_HOSTS": "registry.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://registry.example.org",
        "ENV_FILE": str(tmp_path / "no.env"),  # a deployment has no .env (a developer's own must not count here)
    })
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


PRODUCTION_REQUESTS = """
import json, django
django.setup()
from django.conf import settings
# Pages name static files through the manifest that collectstatic writes in a real deployment; not under test here.
settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("officer", password=%(password)r)
from django.test import Client
plain = Client(HTTP_HOST="registry.example.org").get("/accounts/login/")
client = Client(HTTP_HOST="registry.example.org", enforce_csrf_checks=True)
page = client.get("/accounts/login/", secure=True)
token = page.cookies["csrftoken"].value
signed_in = client.post("/accounts/login/", {"username": "officer", "password": %(password)r,
                        "csrfmiddlewaretoken": token}, secure=True,
                        HTTP_REFERER="https://registry.example.org/accounts/login/")
def cookie(response, name):
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"],
            "max_age": morsel["max-age"]}
print(json.dumps({
    "plain_status": plain.status_code, "plain_location": plain.get("Location"),
    "status": page.status_code, "signed_in": signed_in.status_code,
    "headers": {k: page.get(k) for k in ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options",
                "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy")},
    "csrf": cookie(page, "csrftoken"), "session": cookie(signed_in, "sessionid"),
}))
"""


class ProductionSettingsTests:
    def test_check_deploy_gives_no_warnings(self, tmp_path):
        result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues (0 silenced)." in result.stdout
        assert "WARNINGS" not in result.stdout + result.stderr

    def test_https_hsts_secure_cookies_and_a_content_security_policy(self, tmp_path):
        result = run(["-c", PRODUCTION_REQUESTS % {"password": PASSWORD}], production_env(tmp_path))
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        assert answer["plain_status"] == 301
        assert answer["plain_location"] == "https://registry.example.org/accounts/login/"
        assert answer["status"] == 200 and answer["signed_in"] == 302
        headers = answer["headers"]
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'self'"
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"  # no 'unsafe-inline'
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        assert answer["csrf"]["secure"] and answer["csrf"]["samesite"] == "Lax"
        session = answer["session"]
        assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
        assert session["max_age"] == 1800

    def test_no_secret_key_means_no_start(self, tmp_path):
        result = run(["-c", "import django; django.setup(); import sharing_registry.wsgi"],
                     production_env(tmp_path, SECRET_KEY=None))
        assert result.returncode != 0
        assert "ImproperlyConfigured: Missing settings: SECRET_KEY." in result.stderr

    def test_a_worker_serves_with_its_start_up_heap_frozen_and_its_views_loaded(self, tmp_path):
        """The application gunicorn loads leaves the garbage collector's full collections to what requests make:
        everything alive at start-up, the views included, is in the permanent generation."""
        result = run(["-c", "import gc, sys; import sharing_registry.wsgi; "
                            "print(gc.get_freeze_count(), 'agreements.api.views' in sys.modules)"],
                     production_env(tmp_path))
        assert result.returncode == 0, result.stderr
        frozen, views_loaded = result.stdout.split()
        assert int(frozen) > 10_000 and views_loaded == "True"

    def test_no_audit_signing_key_means_no_start_and_generates_nothing(self, tmp_path):
        result = run(["manage.py", "check"], production_env(tmp_path, AUDIT_SIGNING_KEY=None))
        assert result.returncode != 0
        assert "ImproperlyConfigured: Missing settings: AUDIT_SIGNING_KEY." in result.stderr
        assert not (tmp_path / "never-generated.key").exists()  # no development key quietly made in production

    def test_asking_for_a_generated_signing_key_without_debug_is_refused(self, tmp_path):
        """Only a DEBUG run may fall back to a generated key file."""
        env = production_env(tmp_path, AUDIT_SIGNING_KEY=None, AUDIT_SIGNING_KEY_GENERATE="1")
        result = run(["manage.py", "check"], env)
        assert result.returncode != 0 and "Missing settings: AUDIT_SIGNING_KEY." in result.stderr
        assert not (tmp_path / "never-generated.key").exists()

    def test_no_audit_witness_directory_means_no_start(self, tmp_path):
        result = run(["manage.py", "check"], production_env(tmp_path, AUDIT_WITNESS_DIR=None))
        assert result.returncode != 0
        assert "ImproperlyConfigured: Missing settings: AUDIT_WITNESS_DIR." in result.stderr


@pytest.mark.django_db
class SessionTimeoutTests:
    def test_a_session_ends_after_inactivity_and_activity_keeps_it_alive(self, client, settings):
        settings.SESSION_COOKIE_AGE = 1
        UserFactory(username="idle-officer")
        assert client.post("/accounts/login/", {"username": "idle-officer", "password": PASSWORD}).status_code == 302
        for _ in range(3):  # 2.1 s of use in all, longer than the timeout, each request within it of the last
            time.sleep(0.7)
            assert client.get("/").status_code == 200
        time.sleep(1.3)  # then nothing for longer than the timeout
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
