"""Operations: /healthz when things are down, and the shape of the production stack."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]

HEALTHZ = (
    "import django, json; django.setup();"
    "from django.test import Client;"
    "r = Client().get('/healthz');"
    "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
)


def run_healthz(**env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", HEALTHZ],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "sharing_registry.settings", **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


class HealthzFailureTests:
    def test_database_down_gives_503_not_a_crash(self, tmp_path):
        answer = run_healthz(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/none.sqlite3", CELERY_BROKER_URL="")
        assert answer["status"] == 503
        assert answer["body"]["database"]["ok"] is False
        assert answer["body"]["status"] == "down"

    def test_broker_down_is_reported_while_the_app_keeps_serving(self, tmp_path):
        # Nothing listens on port 1: the broker is configured but unreachable.
        answer = run_healthz(
            DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", CELERY_BROKER_URL="redis://127.0.0.1:1/0"
        )
        assert answer["status"] == 200
        assert answer["body"]["broker"] == {"ok": False, "configured": True, "error": answer["body"]["broker"]["error"]}
        assert answer["body"]["status"] == "degraded"


class ComposeFileTests:
    def test_compose_runs_every_service_with_a_healthcheck(self):
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        services = compose["services"]
        assert set(services) == {"db", "redis", "migrate", "web", "worker", "beat"}
        for name, service in services.items():
            assert "healthcheck" in service or name == "migrate", name  # migrate runs once and exits
        assert "gunicorn" in services["web"]["command"] and "migrate" in services["migrate"]["command"]
        assert services["worker"]["command"][:4] == ["celery", "-A", "sharing_registry", "worker"]
        assert services["beat"]["command"][:4] == ["celery", "-A", "sharing_registry", "beat"]
        # web, worker and beat run the same image with the same settings
        assert services["web"]["image"] == services["worker"]["image"] == services["beat"]["image"]
        assert services["worker"]["environment"]["CELERY_BROKER_URL"] == "redis://redis:6379/0"


class MakeRunPortTests:
    """`make run` printed port 8000 whatever PORT was, and emails linked to port 8000."""

    def test_make_run_serves_prints_and_links_to_the_port_asked_for(self, tmp_path):
        stub = tmp_path / "python"  # stands in for the virtualenv's python: says what it was asked, with which SITE_URL
        stub.write_text('#!/bin/sh\necho "SITE_URL=$SITE_URL ARGS=$*"\n')
        stub.chmod(0o755)
        result = subprocess.run(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed", "run",
             "PORT=8123", f"PY={stub}", f"ENV_FILE={tmp_path}/dev.env"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT", "HOST")},
        )
        assert result.returncode == 0, result.stderr
        assert "SITE_URL=http://127.0.0.1:8123 ARGS=manage.py seed_demo --if-empty" in result.stdout
        assert "SITE_URL=http://127.0.0.1:8123 ARGS=manage.py runserver 127.0.0.1:8123" in result.stdout
        assert "Serving http://127.0.0.1:8123/" in result.stdout

    def test_make_run_writes_development_settings_once_and_never_overwrites_them(self, tmp_path):
        """DEBUG is off by default: `make run` writes a .env that turns it on, with a secret of its own."""
        stub = tmp_path / "python"
        stub.write_text('#!/bin/sh\necho "ENV_FILE=$ENV_FILE ARGS=$*"\n')
        stub.chmod(0o755)
        dotenv = tmp_path / "dev.env"

        def make_run():
            return subprocess.run(
                ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed", "run",
                 f"PY={stub}", f"ENV_FILE={dotenv}"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                env={k: v for k, v in os.environ.items() if k not in ("ENV_FILE",)})

        first = make_run()
        assert first.returncode == 0, first.stderr
        assert f"ENV_FILE={dotenv} ARGS=manage.py runserver" in first.stdout  # the server reads the file written
        values = dict(line.split("=", 1) for line in dotenv.read_text().splitlines() if not line.startswith("#"))
        assert values["DEBUG"] == "1" and len(values["SECRET_KEY"]) >= 50
        assert values["AUDIT_SIGNING_KEY_GENERATE"] == "1" and values["AUDIT_WITNESS_DIR"] == "var/audit-witness"
        dotenv.write_text(dotenv.read_text() + "SITE_URL=http://kept\n")
        second = make_run()
        assert second.returncode == 0 and "SITE_URL=http://kept" in dotenv.read_text()
        assert "Wrote" not in second.stdout

    @pytest.mark.django_db
    def test_the_demo_prints_the_sign_in_address_it_was_given(self, settings):
        settings.SITE_URL = "http://127.0.0.1:8123"
        out = StringIO()
        call_command("seed_demo", stdout=out)
        assert "Sign in at http://127.0.0.1:8123/accounts/login/" in out.getvalue()
