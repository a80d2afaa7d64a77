"""A database owner (any SQL, no signing key, no witness) against verify_audit's walk over PostgreSQL's COPY: changes
to the audit tables' contents, types or session that the walk must not report as OK."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit import chain

from .conftest import attacker, make_events, sealed_events


def _event(seq: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_catalog.host(client_ip), detail::text FROM audit_auditevent WHERE seq = %s", [seq])
        return cursor.fetchone()


def _verify_all() -> list:
    """Full and incremental, one process (the test's transaction keeps the walk in this session)."""
    return [chain.verify(processes=1), chain.verify(incremental=True, processes=1)]


@pytest.mark.postgres
@pytest.mark.django_db
class PostgreSQLOwnerAttackTests:
    def test_a_function_shadowing_host_through_search_path_does_not_hide_a_changed_ip(self):
        # The walk calls host() unqualified: with pg_catalog listed after a schema the owner controls (ALTER DATABASE
        # ... SET search_path does it for every session), the owner's host() answers the walk with the sealed address
        # while the row (what the application shows) holds another.
        seqs = make_events(3)
        with attacker() as cursor:  # events written from an address, before they are sealed
            cursor.execute("UPDATE audit_auditevent SET client_ip = '10.0.0.1'")
        chain.seal_pending(force_checkpoint=True)
        assert chain.verify().ok
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET client_ip = '6.6.6.6' WHERE seq = %s", [seqs[1]])
            cursor.execute("CREATE FUNCTION public.host(inet) RETURNS text LANGUAGE sql IMMUTABLE AS "
                           "$$ SELECT CASE WHEN $1 = '6.6.6.6'::inet THEN '10.0.0.1' ELSE pg_catalog.host($1) END $$")
            cursor.execute("SET search_path = public, pg_catalog")
        assert _event(seqs[1])[0] == "6.6.6.6"
        for result in _verify_all():
            assert (result.ok, result.first_bad_seq) == (False, seqs[1]), result.summary

    def test_a_function_shadowing_host_through_search_path_does_not_change_the_csv_export(self, agency, auditor):
        # The CSV export formats its cells in SQL (COPY): the owner's host() listed before pg_catalog would have the
        # auditor's file show another address than the event holds, while verify_audit (which pins pg_catalog) says
        # the log is intact.
        make_events(2, agency=agency)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET client_ip = '6.6.6.6'")
            cursor.execute("CREATE FUNCTION public.host(inet) RETURNS text LANGUAGE sql IMMUTABLE AS "
                           "$$ SELECT '10.0.0.1'::text $$")
            cursor.execute("SET search_path = public, pg_catalog")
        api = APIClient()
        api.force_authenticate(auditor)
        response = api.get("/api/v1/audit/export/", {"format": "csv", "action": "check.allowed"})
        text = b"".join(response.streaming_content).decode()
        assert text.count(",6.6.6.6,") == 2 and "10.0.0.1" not in text
        with connection.cursor() as cursor:  # and the session's own setting is as it was
            cursor.execute("SHOW search_path")
            assert cursor.fetchone()[0] == "public, pg_catalog"

    def test_a_function_shadowing_to_char_through_search_path_does_not_hide_a_changed_time(self):
        seqs = sealed_events(3)
        with connection.cursor() as cursor:
            cursor.execute("SELECT at FROM audit_auditevent WHERE seq = %s", [seqs[1]])
            sealed_at = cursor.fetchone()[0]
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET at = at - interval '3 days' WHERE seq = %s", [seqs[1]])
            cursor.execute(
                "CREATE FUNCTION public.to_char(timestamp, text) RETURNS text LANGUAGE sql STABLE AS "
                "$$ SELECT pg_catalog.to_char(CASE WHEN $1 = (%s::timestamptz - interval '3 days') AT TIME ZONE 'UTC' "
                "THEN $1 + interval '3 days' ELSE $1 END, $2) $$".replace("%s", f"'{sealed_at.isoformat()}'"))
            cursor.execute("SET search_path = public, pg_catalog")
        for result in _verify_all():
            assert (result.ok, result.first_bad_seq) == (False, seqs[1]), result.summary

    def test_detail_cannot_carry_text_after_the_sealed_json(self):
        # The detail is hashed as the text it is stored as: text appended after the sealed JSON (which a walk that
        # decoded only the first JSON value would not see) is a changed event.
        seqs = sealed_events(3)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET detail = detail || ' {\"reason\": \"rewritten\"}' "
                           "WHERE seq = %s", [seqs[1]])
        assert _event(seqs[1])[1].endswith('"rewritten"}')
        for result in _verify_all():
            assert not result.ok, result.summary

    def test_agencies_retyped_as_text_cannot_carry_text_after_the_sealed_list(self):
        seqs = sealed_events(3)
        with attacker() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN agencies TYPE text USING agencies::text")
            cursor.execute("UPDATE audit_auditevent SET agencies = agencies || ' [\"other\"]' WHERE seq = %s",
                           [seqs[1]])
        for result in _verify_all():
            assert not result.ok, result.summary

    def test_the_events_table_replaced_by_a_view_fails_the_walk(self):
        # A view can answer the walk (a COPY, in a read-only transaction) with the sealed rows and everyone else with
        # others: the walk must read the table itself.
        seqs = sealed_events(3)
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent RENAME TO audit_auditevent_sealed")
            cursor.execute("CREATE VIEW audit_auditevent AS SELECT * FROM audit_auditevent_sealed")
        for result in _verify_all():
            assert not result.ok and "altered" in result.message, result.summary
        assert seqs

    @pytest.mark.parametrize("change", [
        "ALTER TABLE audit_auditseal ALTER COLUMN position DROP NOT NULL; "
        "UPDATE audit_auditseal SET position = NULL WHERE seq = %s",
        "ALTER TABLE audit_auditseal ALTER COLUMN hash DROP NOT NULL; UPDATE audit_auditseal SET hash = NULL "
        "WHERE seq = %s",
        "ALTER TABLE audit_auditevent ALTER COLUMN at DROP NOT NULL; UPDATE audit_auditevent SET at = NULL "
        "WHERE seq = %s",
        "ALTER TABLE audit_auditevent ALTER COLUMN actor_name DROP NOT NULL; "
        "UPDATE audit_auditevent SET actor_name = NULL WHERE seq = %s",
        "ALTER TABLE audit_auditevent ALTER COLUMN detail DROP NOT NULL; "
        "UPDATE audit_auditevent SET detail = NULL WHERE seq = %s",
    ])
    def test_a_null_where_the_schema_had_none_is_a_failure_not_a_crash(self, change):
        seqs = sealed_events(3)
        with attacker() as cursor:
            for statement in change.split("; "):
                cursor.execute(statement, [seqs[1]] if "%s" in statement else None)
        for result in _verify_all():
            # A seal without a position is out of the walk's range: the chain jumps over it, at the seal after it.
            assert not result.ok and result.first_bad_seq in (seqs[1], seqs[2]), result.summary

    def test_a_detail_number_beyond_what_json_decodes_here_is_a_failure_not_a_crash(self):
        seqs = sealed_events(3)
        with attacker() as cursor:  # jsonb writes 1e5000 as 5001 digits; Python's int() refuses more than 4300
            cursor.execute("UPDATE audit_auditevent SET detail = '{\"n\": 1e5000}' WHERE seq = %s", [seqs[1]])
        for result in _verify_all():
            assert (result.ok, result.first_bad_seq) == (False, seqs[1]), result.summary

    @pytest.mark.parametrize("sealed, stored", [("0.1", "0.1000000000000000000001"), ("1.10", "1.1"),
                                                ("0.0", "1e-400"), ("1", "1.0"), ("2", "2e0")])
    def test_a_detail_number_changed_within_a_double_fails(self, sealed, stored):
        # The stored detail text is what is hashed: a number rewritten to another that decodes to the same double
        # (which a hash over the decoded value would not see) is a changed event.
        seqs = make_events(3)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE seq = %s",
                           [f'{{"amount":{sealed}}}', seqs[1]])
        chain.seal_pending(force_checkpoint=True)
        assert chain.verify().ok
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE seq = %s",
                           [f'{{"amount":{stored}}}', seqs[1]])
        for result in _verify_all():
            assert (result.ok, result.first_bad_seq) == (False, seqs[1]), result.summary

    @pytest.mark.parametrize("stored", ["{}", "0", "false", '""', "null", None])
    def test_no_agencies_rewritten_as_another_empty_value_fails(self, stored):
        # The canonical form leaves out an empty agencies list; every event holds a list, so any other empty value
        # (which would hash as that empty list) is a changed event.
        seqs = sealed_events(3)
        with attacker() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN agencies DROP NOT NULL")
            cursor.execute("UPDATE audit_auditevent SET agencies = %s::jsonb WHERE seq = %s", [stored, seqs[1]])
        for result in _verify_all():
            assert not result.ok, result.summary


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class PostgreSQLParallelOwnerAttackTests:
    def test_each_range_refuses_a_retyped_column_and_a_shadowing_function(self):
        seqs = sealed_events(6)
        with connection.cursor() as cursor:
            cursor.execute("CREATE FUNCTION public.host(inet) RETURNS text LANGUAGE sql IMMUTABLE AS "
                           "$$ SELECT '10.0.0.1' $$")
            cursor.execute(f"ALTER DATABASE {connection.settings_dict['NAME']} SET search_path = public, pg_catalog")
        try:
            with attacker() as cursor:
                cursor.execute("UPDATE audit_auditevent SET client_ip = '6.6.6.6' WHERE seq = %s", [seqs[4]])
            connection.close()
            result = chain.verify(processes=3, min_range=1)
            assert (result.ok, result.first_bad_seq) == (False, seqs[4]), result.summary
            with attacker() as cursor:
                cursor.execute("UPDATE audit_auditevent SET client_ip = NULL WHERE seq = %s", [seqs[4]])
                cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN detail TYPE jsonb USING detail::jsonb")
            result = chain.verify(processes=3, min_range=1)
            assert not result.ok and "altered" in result.message, result.summary
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER DATABASE {connection.settings_dict['NAME']} RESET search_path")
                cursor.execute("DROP FUNCTION public.host(inet)")
            with attacker() as cursor:  # a schema change outlives the test (its database is only emptied)
                cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN detail TYPE text USING detail::text")

    @pytest.mark.parametrize("setting", [
        "DateStyle = 'SQL, DMY'", "IntervalStyle = 'sql_standard'", "extra_float_digits = -15",
        "TimeZone = 'Pacific/Chatham'", "lc_time = 'C'", "lc_numeric = 'C'", "bytea_output = 'escape'",
        "standard_conforming_strings = off", "search_path = \"$user\", public, pg_catalog",
    ])
    def test_database_settings_leave_the_walk_as_it_was(self, setting, settings):
        # What ALTER DATABASE/ROLE ... SET gives every session (Django and psycopg2 put TimeZone and DateStyle back at
        # connect): the walk's text (to_char of a UTC timestamp, jsonb's and inet's output) must not move, so an
        # honest chain still verifies, in one process or in ranges, and a changed row still fails.
        settings.AUDIT_SEAL_ON_COMMIT = False  # the rows are planted before they are sealed, whatever the broker
        seqs = make_events(3)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET detail = '{\"f\": 0.5, \"n\": 100000000000000000000, "
                           "\"at\": \"2026-01-01\"}', client_ip = '2001:db8::1' WHERE seq = %s", [seqs[0]])
        chain.seal_pending(force_checkpoint=True)
        name = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {name} SET {setting}")
        try:
            connection.close()  # the next session starts with the setting
            for processes in (1, 3):
                assert chain.verify(processes=processes, min_range=1).ok
            with attacker() as cursor:
                cursor.execute("UPDATE audit_auditevent SET actor_name = actor_name || 'x' WHERE seq = %s",
                               [seqs[1]])
            for processes in (1, 3):
                result = chain.verify(processes=processes, min_range=1)
                assert (result.ok, result.first_bad_seq) == (False, seqs[1]), result.summary
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER DATABASE {name} RESET ALL")
