"""The migration that stores each event's detail as its canonical text (audit 0020) keeps every seal valid.

A log written before it (details as json.dumps or jsonb wrote them, sealed over the decoded values) is migrated in a
database of its own, in a separate process, on the database the suite runs on: afterwards each detail is stored as
its canonical text, the whole chain verifies, and the events are append-only again."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json
import django
django.setup()
from django.core.management import call_command
from django.db import connection

call_command("migrate", "audit", "0019", verbosity=0)
from audit import canonical

details = [{"b": 1, "a": [1.5, "\u00e9", None, True]}, {},
           {"purpose": "x" * 50, "n": 10 ** 20, "z": {"y": [], "x": {}}}, {"f": 1e-07, "g": -0.0, "h": 1e16},
           {"quote": 'say "hi"\n\\', "\u00e9": "\U0001F600"}]
prev, values = canonical.GENESIS_HASH, []
with connection.cursor() as cursor:
    # A user (written raw: the ORM would record and seal an event of its own), whom every row the migration rewrites
    # names through its foreign key.
    cursor.execute("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
                   "is_active, date_joined) VALUES ('!', false, 'ann', '', '', '', false, true, "
                   "'2026-01-01 00:00:00+00:00') RETURNING id")
    actor = cursor.fetchone()[0]
    for position, detail in enumerate(details, 1):
        cursor.execute(
            "INSERT INTO audit_auditevent (at, actor_id, actor_name, agency_code, action, object_type, object_ref, "
            "detail, request_id, agencies) VALUES ('2026-01-01 00:00:00+00:00', %s, 'ann', '', 'check.allowed', "
            "'dataset', %s, %s, '', %s) RETURNING seq",
            [actor, f"ds-{position}", json.dumps(detail), json.dumps(["mft"][:position % 2])])
        seq = cursor.fetchone()[0]
        # What the sealer hashed before: the detail as the database gave it back (jsonb has its own way with
        # numbers), decoded, in canonical form.
        cursor.execute("SELECT CAST(detail AS text) FROM audit_auditevent WHERE seq = %s", [seq])
        values.append(json.loads(cursor.fetchone()[0]))
        digest = canonical.link_hash(prev, canonical.canonical_bytes(
            seq, "2026-01-01T00:00:00.000000Z", actor, "ann", None, "", "check.allowed", "dataset", f"ds-{position}",
            values[-1], "", None, ["mft"][:position % 2]))
        cursor.execute("INSERT INTO audit_auditseal (seq, position, prev_hash, hash, sealed_at) VALUES "
                       "(%s, %s, %s, %s, '2026-01-01 00:00:01+00:00')", [seq, position, prev, digest])
        prev = digest

call_command("migrate", verbosity=0)
from audit import chain

with connection.cursor() as cursor:
    cursor.execute("SELECT detail FROM audit_auditevent ORDER BY seq")
    stored = [text for (text,) in cursor.fetchall()]
assert stored == [canonical.canonical_json(value) for value in values], stored
result = chain.verify(processes=1)
assert result.ok and result.events == len(details), result.summary
try:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET detail = '{}'")
except Exception as refused:
    assert "append-only" in str(refused), refused
else:
    raise AssertionError("an event was changed after the migration")
print("migrated and verified")
"""


def _on_server(statement: str) -> None:
    """One statement on the suite's PostgreSQL server, outside any transaction (CREATE or DROP DATABASE)."""
    settings = connection.settings_dict
    admin = psycopg2.connect(dbname="postgres", user=settings["USER"], host=settings["HOST"] or None,
                             port=settings["PORT"] or None, password=settings["PASSWORD"] or None)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(statement)
    finally:
        admin.close()


def _database_url(tmp_path: Path) -> tuple[str, str | None]:
    """A fresh database of the suite's own kind: (its URL, its name on PostgreSQL to drop afterwards)."""
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path / 'before.sqlite3'}", None
    settings = connection.settings_dict
    name = f"sr_migrate_{uuid.uuid4().hex[:8]}"
    _on_server(f'CREATE DATABASE "{name}"')
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}", name


def test_a_log_sealed_before_details_were_stored_canonical_migrates_and_still_verifies(tmp_path):
    url, name = _database_url(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "AUDIT_WITNESS_DIR": str(tmp_path / "witness"),
           "DJANGO_SETTINGS_MODULE": "sharing_registry.settings"}
    env.pop("CELERY_BROKER_URL", None)
    try:
        done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                              check=False, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "migrated and verified" in done.stdout
    finally:
        if name:
            _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
