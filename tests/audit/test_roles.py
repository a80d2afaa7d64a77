"""The runtime role on PostgreSQL: it writes and reads the audit log, and cannot undo the log's protections."""

import re
import uuid
from pathlib import Path

import pytest
import yaml
from django.db import DatabaseError, connection, transaction

from audit import chain, roles, triggers
from audit.choices import AuditAction
from audit.services import record

from .conftest import sealed_events


@pytest.fixture
def runtime_role():
    """A role granted exactly what `migrate` grants the DATABASE_URL role, assumed with SET ROLE inside the test's
    transaction (so the role and its grants are rolled back with it)."""
    name = f"sr_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOLOGIN")
        roles.grant_runtime_role(connection, name)
        cursor.execute(f"SET ROLE {name}")
    yield name
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def refused(sql: str, params=None) -> str:
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(error.value)


@pytest.mark.postgres
@pytest.mark.django_db
class RuntimeRoleTests:
    def test_the_runtime_role_records_seals_signs_and_verifies(self, runtime_role):
        sealed_events(3)
        record(action=AuditAction.CHECK_ALLOWED, object_ref="as-the-app")
        assert chain.seal_pending(force_checkpoint=True).checkpoint.position == 4
        assert chain.verify().ok
        assert roles.runtime_role_problems(connection) == []

    @pytest.mark.parametrize("table", triggers.APPEND_ONLY_TABLES)
    def test_the_runtime_role_cannot_disable_the_triggers(self, runtime_role, table):
        assert "must be owner" in refused(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        assert "must be owner" in refused(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        assert "must be owner" in refused(f"DROP TRIGGER {table}_append_only ON {table}")

    @pytest.mark.parametrize("table", triggers.APPEND_ONLY_TABLES)
    def test_the_runtime_role_cannot_alter_update_delete_or_truncate(self, runtime_role, table):
        sealed_events(2)
        assert "must be owner" in refused(f"ALTER TABLE {table} ADD COLUMN forged text")
        assert "must be owner" in refused(f"ALTER TABLE {table} OWNER TO CURRENT_USER")
        column = "id" if table not in ("audit_auditevent", "audit_auditseal", "audit_auditeventagency") else "seq"
        assert "permission denied" in refused(f"UPDATE {table} SET {column} = {column}")  # noqa: S608
        assert "permission denied" in refused(f"DELETE FROM {table}")  # noqa: S608
        assert "permission denied" in refused(f"TRUNCATE {table}")

    def test_the_runtime_role_cannot_switch_triggers_off_for_the_session(self, runtime_role):
        assert "permission denied" in refused("SET session_replication_role = replica")
        assert "permission denied" in refused("CREATE TRIGGER forged BEFORE INSERT ON audit_auditevent FOR EACH ROW "
                                              "EXECUTE FUNCTION audit_refuse_change()")

    def test_the_owner_is_reported_as_too_privileged(self):
        # The suite connects as the owner (and superuser) that created the tables: exactly what production avoids.
        problems = roles.runtime_role_problems(connection)
        assert "the application connects as a superuser" in problems


class ComposeRolesTests:
    """The production stack: the owner migrates in a one-shot service; everything else runs as the app's role."""

    def test_compose_migrates_as_the_owner_and_runs_the_app_as_its_own_role_with_no_default_password(self):
        root = Path(__file__).resolve().parents[2]
        text = (root / "docker-compose.yml").read_text()
        services = yaml.safe_load(text)["services"]
        for name in ("web", "worker", "beat"):
            env = services[name]["environment"]
            assert env["DATABASE_URL"].startswith("postgres://registry_app:"), name
            assert "MIGRATE_DATABASE_URL" not in env, f"{name} must not hold the owner's password"
        assert services["migrate"]["environment"]["MIGRATE_DATABASE_URL"].startswith("postgres://registry:")
        assert not re.search(r"PASSWORD:-", text), "a password has a default"
        assert "./docker/db-init:/docker-entrypoint-initdb.d:ro" in services["db"]["volumes"]
        assert "CREATE ROLE" in (root / "docker" / "db-init" / "10-app-role.sh").read_text()

    def test_web_worker_and_beat_share_one_witness_volume_outside_the_database(self):
        root = Path(__file__).resolve().parents[2]
        compose = yaml.safe_load((root / "docker-compose.yml").read_text())
        for name in ("web", "worker", "beat"):
            assert "audit-witness:/app/var/audit-witness" in compose["services"][name]["volumes"], name
            assert compose["services"][name]["environment"]["AUDIT_WITNESS_DIR"] == "/app/var/audit-witness"
        assert not any("audit-witness" in v for v in compose["services"]["db"]["volumes"])
        assert "audit-witness" in compose["volumes"]
