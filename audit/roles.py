"""Least privilege on PostgreSQL: migrations run as the tables' owner, the application as a role that may only
INSERT and SELECT the audit tables.

The owner (MIGRATE_DATABASE_URL) creates and alters tables and installs the append-only triggers. The runtime role
(DATABASE_URL) gets ordinary rights on the application's tables but, on the audit tables, only INSERT and SELECT:
no UPDATE, DELETE, TRUNCATE, REFERENCES or TRIGGER, and since it owns nothing it cannot ALTER a table or disable
its triggers (and, not being a superuser, cannot set session_replication_role). `migrate` re-applies the grants
after every run, so a table added later is covered too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.backends.base.base import BaseDatabaseWrapper

from .triggers import APPEND_ONLY_TABLES


def grant_sql(role: str, quote: Callable[[str], str]) -> list[str]:
    """The statements that give `role` the application's rights and no more (`quote` quotes an identifier)."""
    who = quote(role)
    audit = ", ".join(APPEND_ONLY_TABLES)
    return [
        f"REVOKE CREATE ON SCHEMA public FROM {who}",
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {who}",
        f"GRANT SELECT, INSERT ON {audit} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
    ]


def grant_runtime_role(connection: BaseDatabaseWrapper, role: str) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in grant_sql(role, connection.ops.quote_name):
            cursor.execute(sql)


def runtime_role_problems(connection: BaseDatabaseWrapper) -> list[str]:
    """Why the current connection has more rights than the runtime role should (empty when it is least-privileged)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, r.rolbypassrls, "
            "(SELECT count(*) FROM pg_tables t WHERE t.schemaname = 'public' AND t.tablename = ANY(%s) "
            " AND t.tableowner = current_user), "
            "(SELECT count(*) FROM unnest(%s::text[]) AS a(name) WHERE has_table_privilege(a.name, 'UPDATE') "
            " OR has_table_privilege(a.name, 'DELETE') OR has_table_privilege(a.name, 'TRUNCATE')) "
            "FROM pg_roles r WHERE r.rolname = current_user",
            [APPEND_ONLY_TABLES, APPEND_ONLY_TABLES],
        )
        superuser, bypass, owned, writable = cursor.fetchone()
    problems = []
    if superuser:
        problems.append("the application connects as a superuser")
    if bypass:
        problems.append("the application's role bypasses row security")
    if owned:
        problems.append("the application's role owns the audit tables (it could disable their triggers)")
    if writable:
        problems.append("the application's role may UPDATE, DELETE or TRUNCATE the audit tables")
    return problems
