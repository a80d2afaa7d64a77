from django.db.backends.base.base import BaseDatabaseWrapper

"""Database triggers that make audit tables append-only, on SQLite and PostgreSQL.

Migrations install them. On PostgreSQL they are ENABLE ALWAYS, so they fire even under
`session_replication_role = replica`. Only the test suite's database flush lifts them.
"""

# Every append-only table: the events (and their agency index), their seals and checkpoints, the record of
# verification runs, and the sealer's alerts.
APPEND_ONLY_TABLES = ["audit_auditevent", "audit_auditseal", "audit_auditcheckpoint", "audit_auditverification",
                      "audit_auditeventagency", "audit_auditalert"]

# The index of the agencies each event concerns (its `agencies`, and the agency it is filed under), filled in the
# event's own INSERT.
_PG_INDEX = [
    """
CREATE OR REPLACE FUNCTION audit_index_agencies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_auditeventagency (agency_code, seq)
        SELECT code, NEW.seq FROM jsonb_array_elements_text(NEW.agencies) AS code
        UNION SELECT NEW.agency_code, NEW.seq WHERE NEW.agency_code <> '';
    RETURN NULL;
END
$$;
""",
    "DROP TRIGGER IF EXISTS audit_auditevent_agencies ON audit_auditevent",
    "CREATE TRIGGER audit_auditevent_agencies AFTER INSERT ON audit_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION audit_index_agencies()",
    "ALTER TABLE audit_auditevent ENABLE ALWAYS TRIGGER audit_auditevent_agencies",
]
_SQLITE_INDEX = [
    "CREATE TRIGGER IF NOT EXISTS audit_auditevent_agencies AFTER INSERT ON audit_auditevent BEGIN "
    "INSERT INTO audit_auditeventagency (agency_code, seq) SELECT value, NEW.seq FROM json_each(NEW.agencies) "
    "UNION SELECT NEW.agency_code, NEW.seq WHERE NEW.agency_code <> ''; END",
]

# What the runtime role may insert: an event with a positive seq (the sealer and the "unsealed too long" check
# only look above 0) dated no later than now plus a small clock skew (a row dated in the future would make every
# real event after it look like one that slipped into the past). Checked on each INSERT, on the database's clock.
FUTURE_SKEW = "5 minutes"
_PG_GUARD = [
    f"""
CREATE OR REPLACE FUNCTION audit_guard_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq <= 0 THEN
        RAISE EXCEPTION 'audit event refused: seq % is not positive', NEW.seq USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.at > clock_timestamp() + interval '{FUTURE_SKEW}' THEN
        RAISE EXCEPTION 'audit event refused: dated % in the future', NEW.at USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
""",
    "DROP TRIGGER IF EXISTS audit_auditevent_guard ON audit_auditevent",
    "CREATE TRIGGER audit_auditevent_guard BEFORE INSERT ON audit_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION audit_guard_event()",
    "ALTER TABLE audit_auditevent ENABLE ALWAYS TRIGGER audit_auditevent_guard",
    f"""
CREATE OR REPLACE FUNCTION audit_guard_verification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ran_at > clock_timestamp() + interval '{FUTURE_SKEW}' THEN
        RAISE EXCEPTION 'audit verification refused: dated % in the future', NEW.ran_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
""",
    "DROP TRIGGER IF EXISTS audit_auditverification_guard ON audit_auditverification",
    "CREATE TRIGGER audit_auditverification_guard BEFORE INSERT ON audit_auditverification "
    "FOR EACH ROW EXECUTE FUNCTION audit_guard_verification()",
    "ALTER TABLE audit_auditverification ENABLE ALWAYS TRIGGER audit_auditverification_guard",
]
# AFTER INSERT: in a BEFORE trigger SQLite has not yet assigned an automatic seq. RAISE(ABORT) undoes the row.
_SQLITE_GUARD = [
    "CREATE TRIGGER IF NOT EXISTS audit_auditevent_guard AFTER INSERT ON audit_auditevent "
    f"WHEN NEW.seq <= 0 OR NEW.at > datetime('now', '+{FUTURE_SKEW}') BEGIN "
    "SELECT RAISE(ABORT, 'audit event refused: seq not positive or dated in the future'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_auditverification_guard AFTER INSERT ON audit_auditverification "
    f"WHEN NEW.ran_at > datetime('now', '+{FUTURE_SKEW}') BEGIN "
    "SELECT RAISE(ABORT, 'audit verification refused: dated in the future'); END",
]

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _pg_install(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate",
    ]


def _sqlite_install(table: str) -> list[str]:
    # SQLite has no TRUNCATE: "DELETE FROM t" with a DELETE trigger present deletes row by row, so it is refused too.
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE on {table} refused'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE on {table} refused'); END",
    ]


def install_sql(vendor: str, tables: list[str] | None = None) -> list[str]:
    """The triggers of `tables`; with none named, every append-only table and the agencies index."""
    index = tables is None
    tables = tables or APPEND_ONLY_TABLES
    if vendor == "postgresql":
        return [_PG_FUNCTION, *(_PG_INDEX + _PG_GUARD if index else [])] + [
            sql for table in tables for sql in _pg_install(table)]
    if vendor == "sqlite":
        return (_SQLITE_INDEX + _SQLITE_GUARD if index else []) + [
            sql for table in tables for sql in _sqlite_install(table)]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def uninstall_sql(vendor: str, tables: list[str] | None = None) -> list[str]:
    tables = tables or APPEND_ONLY_TABLES
    if vendor == "postgresql":
        return [
            sql
            for table in tables
            for sql in (
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            )
        ]
    return [
        sql
        for table in tables
        for sql in (f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete")
    ]


def install_index(connection: BaseDatabaseWrapper) -> None:
    """The trigger that fills audit_auditeventagency from each new event's `agencies`."""
    with connection.cursor() as cursor:
        for sql in _PG_INDEX if connection.vendor == "postgresql" else _SQLITE_INDEX:
            cursor.execute(sql)


def uninstall_guard(connection: BaseDatabaseWrapper) -> None:
    """What the database owner can do (the tests' attacker): drop the insert guards."""
    with connection.cursor() as cursor:
        for table in ("audit_auditevent", "audit_auditverification"):
            on = f" ON {table}" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {table}_guard{on}")


def install(connection: BaseDatabaseWrapper, tables: list[str] | None = None) -> None:
    with connection.cursor() as cursor:
        for sql in install_sql(connection.vendor, tables):
            cursor.execute(sql)


def uninstall(connection: BaseDatabaseWrapper, tables: list[str] | None = None) -> None:
    with connection.cursor() as cursor:
        for sql in uninstall_sql(connection.vendor, tables):
            cursor.execute(sql)
