"""Faults: the database connection cut in the middle of a write, the broker stopped, a worker killed mid-task.

The broker tests start throwaway redis-server processes of their own on free ports (never the shared one), and
real Celery workers through tests/worker.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from werkzeug.test import Client as WsgiClient

from agencies.choices import Role
from agreements.models import Agreement, AgreementVersion, Flow, Party
from audit.models import AuditEvent
from common import prepared
from tests.dates import END, REVIEW, START, iso
from tests.factories import agreement_factory, api_key, member
from tests.worker import _database_url, celery_worker, wait_for

ROOT = Path(__file__).resolve().parents[2]


def agreement_rows() -> dict[str, int]:
    return {"agreements": Agreement.objects.count(), "versions": AgreementVersion.objects.count(),
            "parties": Party.objects.count(), "flows": Flow.objects.count(),
            "created events": AuditEvent.objects.filter(action="agreement.created").count()}


@contextmanager
def cut_connection_after_audit_insert():
    """Once the service has written its audit event, end this connection's server process from another connection
    (pg_terminate_backend) just before the next statement: the transaction is cut half-way."""
    state = {"event_written": False, "cut": False}
    db = connection.settings_dict

    def wrapper(execute, sql, params, many, context):
        if state["event_written"] and not state["cut"]:
            state["cut"] = True
            pid = context["connection"].connection.get_backend_pid()
            other = psycopg2.connect(dbname=db["NAME"], user=db["USER"] or "postgres", host=db["HOST"] or "127.0.0.1",
                                     port=db["PORT"] or 5432, password=db["PASSWORD"] or None)
            try:
                other.autocommit = True
                with other.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                other.close()
        result = execute(sql, params, many, context)
        # The audit INSERT, as first sent (PREPARE ... AS INSERT ...) or executed by name after (common.prepared).
        insert = prepared.prepared_on(context["connection"].connection).get("audit_insert")
        if 'INSERT INTO "audit_auditevent"' in sql or (insert and sql.startswith(f"EXECUTE {insert}(")):
            state["event_written"] = True
        return result

    with connection.execute_wrapper(wrapper):
        yield state


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class DatabaseCutTests:
    def test_a_connection_cut_mid_creation_leaves_nothing_and_the_next_request_works(self):
        from sharing_registry.wsgi import application

        active = agreement_factory(state="active")
        officer = member(active.lead_agency, Role.GOVERNANCE_OFFICER)
        auth = {"Authorization": f"Token {api_key(officer)}"}
        body = {"title": "Cut off", "purpose": "Plan care", "lead_agency": "lead-council", "start_date": iso(START),
                "end_date": iso(END), "review_date": iso(REVIEW),
                "flows": [{"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                           "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}]}
        web = WsgiClient(application)  # the real WSGI handler, which closes a broken connection after the request
        before = agreement_rows()

        with cut_connection_after_audit_insert() as state:
            response = web.post("/api/v1/agreements/", json=body, headers=auth)
        assert state["cut"], "the connection was never cut"
        assert response.status_code == 503
        assert response.json == {"detail": "The registry could not reach its database. Nothing was saved. "
                                           "Please try again."}
        assert agreement_rows() == before  # no half-written agreement, no orphan event

        response = web.post("/api/v1/agreements/", json=body, headers=auth)
        assert response.status_code == 201, response.get_data(as_text=True)
        after = agreement_rows()
        assert after["agreements"] == before["agreements"] + 1
        assert after["created events"] == before["created events"] + 1
        assert web.get("/healthz", environ_base={"REMOTE_ADDR": "127.0.0.1"}).json["database"]["ok"] is True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of this test's own, keeping its data in an append-only file in a temporary folder."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def redis(tmp_path):
    server = ThrowawayRedis(tmp_path / "redis")
    server.folder.mkdir()
    server.start()
    yield server
    server.kill()


def app_process(code: str, broker: str) -> dict:
    """Run CODE in a fresh process of the app pointed at BROKER and the test database; it prints one JSON line."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sharing_registry.settings", "DATABASE_URL": _database_url(),
           "CELERY_BROKER_URL": broker}
    result = subprocess.run([sys.executable, "-c", "import django, json; django.setup()\n" + code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


QUEUE = """
from sharing_registry.celery import app
app.send_task("tests.hardening.slow_write", args=[{path!r}, {seconds}], queue={queue!r})
print(json.dumps({{"queued": True}}))
"""
SERVE = """
from django.test import Client
client = Client()
health = client.get("/healthz")
print(json.dumps({"health": health.status_code, "body": health.json(), "register": client.get("/public/").status_code,
                  "legal_bases": client.get("/api/v1/legal-bases/").status_code}))
"""


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


WORKER_ENV = {"DJANGO_SETTINGS_MODULE": "tests.hardening.worker_settings"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class BrokerFaultTests:
    def test_with_the_broker_down_the_app_serves_and_queued_work_runs_when_it_is_back(self, redis, tmp_path):
        agreement_factory(state="active")
        done = tmp_path / "queued-task"
        assert app_process(QUEUE.format(path=str(done), seconds=0, queue="hardening-broker"), redis.url)["queued"]

        redis.kill()
        down = app_process(SERVE, redis.url)
        assert down["health"] == 200 and down["body"]["status"] == "degraded"
        assert down["body"]["broker"]["ok"] is False and down["body"]["database"]["ok"] is True
        assert down["register"] == 200 and down["legal_bases"] == 401  # pages and the API answer as usual

        redis.start()  # the same folder: the queued message comes back from the append-only file
        with celery_worker(queue="hardening-broker", extra_env={**WORKER_ENV, "CELERY_BROKER_URL": redis.url}):
            wait_for(lambda: lines(done) == 1, what="the queued task to run")
        assert lines(done) == 1

    def test_a_worker_killed_mid_task_leaves_it_to_the_next_worker_which_completes_it_once(self, redis, tmp_path):
        done = tmp_path / "killed-task"
        starts = Path(f"{done}.starts")
        env = {**WORKER_ENV, "CELERY_BROKER_URL": redis.url}
        with celery_worker(queue="hardening-kill", extra_env=env) as (worker, queue):
            app_process(QUEUE.format(path=str(done), seconds=2, queue=queue), redis.url)
            wait_for(lambda: lines(starts) == 1, what="the task to start")
            worker.send_signal(signal.SIGKILL)  # mid-task: no warm shutdown, no acknowledgement
            worker.wait(timeout=10)
        assert lines(done) == 0
        time.sleep(1.5)  # past the (test) visibility timeout, the unacknowledged task is handed out again
        with celery_worker(queue="hardening-kill", extra_env=env):
            wait_for(lambda: lines(done) >= 1, what="the task to complete on the second worker")
            time.sleep(1)  # long enough to see a duplicate, were there one
        assert lines(starts) == 2 and lines(done) == 1
