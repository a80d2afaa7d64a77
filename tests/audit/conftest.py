"""Fixtures for the audit tests: events, auditors, and an attacker who can lift the append-only triggers."""

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from agencies.choices import Role
from audit import chain, triggers
from audit.choices import AuditAction
from audit.services import record
from tests.factories import AgencyFactory, UserFactory, member


def make_events(count: int, *, agency=None, action=AuditAction.CHECK_ALLOWED, **extra) -> list[int]:
    """`count` events through the one writer; returns their seqs."""
    return [
        record(action=action, object_type="dataset", object_ref=f"ds-{i}", agency=agency,
               detail={"i": i, "purpose": "Discharge planning", "nested": {"b": [1, 2.5, "é"], "a": None}}, **extra).seq
        for i in range(count)
    ]


OFFLINE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_audit_export.py"


def download_for_offline(tmp_path: Path, user) -> tuple[Path, Path, Path]:
    """What an auditor takes away to check offline, fetched through the API as `user`: the JSON Lines export, the
    signed checkpoints and the public key, as files in tmp_path."""
    client = APIClient()
    client.force_authenticate(user)
    export = tmp_path / "audit.jsonl"
    export.write_bytes(b"".join(client.get("/api/v1/audit/export/", {"format": "jsonl"}).streaming_content))
    checkpoints = tmp_path / "checkpoints.json"
    checkpoints.write_text(json.dumps(client.get("/api/v1/audit/checkpoints/", {"page_size": 500}).json()))
    key = tmp_path / "key.json"
    key.write_text(json.dumps(client.get("/api/v1/audit/public-key/").json()))
    return export, checkpoints, key


def run_offline(*args) -> subprocess.CompletedProcess:
    """scripts/verify_audit_export.py with these arguments, as an auditor would run it."""
    return subprocess.run([sys.executable, str(OFFLINE_SCRIPT), *map(str, args)], capture_output=True, text=True,
                          check=False)


def sealed_events(count: int, **kwargs) -> list[int]:
    seqs = make_events(count, **kwargs)
    chain.seal_pending(force_checkpoint=True)
    return seqs


@contextlib.contextmanager
def attacker():
    """What a database administrator can do: lift the triggers (and, on PostgreSQL, foreign-key checks).

    Inside a test's transaction, so the database is a copy: everything is rolled back afterwards.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while FK checks are queued
            cursor.execute("SET session_replication_role = replica")  # the triggers still fire: they are ALWAYS
            for table in triggers.APPEND_ONLY_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            triggers.uninstall(connection)
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET session_replication_role = origin")
                for table in triggers.APPEND_ONLY_TABLES:
                    for name in (f"{table}_append_only", f"{table}_no_truncate"):
                        cursor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                triggers.install(connection)


@pytest.fixture
def agency():
    return AgencyFactory(code="manchester-cc", name="Manchester City Council")


@pytest.fixture
def other_agency():
    return AgencyFactory(code="mft", name="Manchester University NHS Foundation Trust")


@pytest.fixture
def auditor(agency):
    return member(agency, Role.AUDITOR, username="audrey")


@pytest.fixture
def frontline(agency):
    return member(agency, Role.FRONTLINE, username="frank")


@pytest.fixture
def superuser():
    return UserFactory(username="root", is_superuser=True, is_staff=True)
