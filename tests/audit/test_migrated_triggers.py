"""A freshly migrated database has the append-only triggers on every audit table.

SQLite rebuilds a table to add a column, dropping its triggers; migrations that did so left audit events,
checkpoints and verification runs open to UPDATE and DELETE on SQLite (an attacker's finding). The test suite
reinstalls triggers before each test, so this test migrates a database of its own, in a separate process.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from audit import triggers

ROOT = Path(__file__).resolve().parents[2]


def test_a_fresh_sqlite_migrate_leaves_every_audit_table_append_only(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "AUDIT_WITNESS_DIR": str(tmp_path / "witness")}
    env.pop("CELERY_BROKER_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    with sqlite3.connect(database) as conn:
        installed = {row[0] for row in conn.execute("SELECT tbl_name || ':' || name FROM sqlite_master "
                                                    "WHERE type = 'trigger'")}
        for table in triggers.APPEND_ONLY_TABLES:
            assert f"{table}:{table}_no_update" in installed, table
            assert f"{table}:{table}_no_delete" in installed, table
        assert "audit_auditevent:audit_auditevent_agencies" in installed
        conn.execute("INSERT INTO audit_auditevent (at, actor_name, agency_code, action, object_type, object_ref, "
                     "detail, request_id, agencies) VALUES ('2026-01-01', 'x', '', 'check.allowed', '', '', '{}', "
                     "'', '[]')")
        try:
            conn.execute("UPDATE audit_auditevent SET actor_name = 'forged'")
        except sqlite3.DatabaseError as refused:
            assert "append-only" in str(refused)
        else:
            raise AssertionError("an audit event was changed after a fresh migrate")
