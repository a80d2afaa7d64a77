"""Raw SQL cannot change or delete audit rows, on SQLite and PostgreSQL, even in replica mode."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit import chain, triggers

from .conftest import sealed_events

TABLES = ["audit_auditevent", "audit_auditseal", "audit_auditcheckpoint", "audit_auditeventagency"]
KEY = {"audit_auditevent": "seq", "audit_auditseal": "seq", "audit_auditcheckpoint": "id",
       "audit_auditeventagency": "agency_code"}


def refused(sql: str, params=None) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        if sql.startswith("TRUNCATE"):
            # As in a fresh session: no foreign-key checks queued by this test's own inserts.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)
    return str(caught.value)


@pytest.mark.django_db
class AppendOnlyTests:
    def test_the_default_table_list_covers_every_append_only_table(self):
        assert set(TABLES) | {"audit_auditverification"} == set(triggers.APPEND_ONLY_TABLES)

    @pytest.mark.parametrize("table", TABLES)
    def test_raw_update_is_refused(self, table):
        sealed_events(2, agencies=["an-agency"])
        message = refused(f"UPDATE {table} SET {KEY[table]} = {KEY[table]}")  # noqa: S608
        assert "append-only" in message

    @pytest.mark.parametrize("table", TABLES)
    def test_raw_delete_is_refused(self, table):
        sealed_events(2, agencies=["an-agency"])
        assert "append-only" in refused(f"DELETE FROM {table}")  # noqa: S608
        assert chain.verify().ok

    def test_orm_update_and_delete_are_refused(self):
        from audit.models import AuditEvent

        sealed_events(1)
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.update(actor_name="nobody")
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.all().delete()

    def test_inserts_still_work(self):
        assert len(sealed_events(3)) == 3


@pytest.mark.django_db
@pytest.mark.postgres
class PostgresAppendOnlyTests:
    @pytest.mark.parametrize("table", TABLES)
    def test_truncate_is_refused(self, table):
        sealed_events(2)
        assert "append-only" in refused(f"TRUNCATE {table} CASCADE")

    @pytest.mark.parametrize("table", TABLES)
    def test_replica_mode_does_not_lift_the_triggers(self, table):
        sealed_events(2, agencies=["an-agency"])
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            assert "append-only" in refused(f"UPDATE {table} SET {KEY[table]} = {KEY[table]}")  # noqa: S608
            assert "append-only" in refused(f"DELETE FROM {table}")  # noqa: S608
            assert "append-only" in refused(f"TRUNCATE {table} CASCADE")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")

    def test_triggers_are_enabled_always(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgname LIKE 'audit_%%' AND NOT tgisinternal")
            states = dict(cursor.fetchall())
        for table in triggers.APPEND_ONLY_TABLES:
            assert states[f"{table}_append_only"] == "A"
            assert states[f"{table}_no_truncate"] == "A"
