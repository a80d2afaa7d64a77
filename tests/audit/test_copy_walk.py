"""verify_audit reads the chain as PostgreSQL's COPY text and builds most canonical forms from a template
(audit.canonical.copy_canonical). The template must give exactly the bytes audit.canonical gives for the same row,
and must step aside (None: the row is decoded column by column) wherever it would not."""

import datetime as dt
import itertools
import json
import random

import pytest
from django.db import connection, transaction

from audit import canonical, chain
from audit.canonical import (
    canonical_bytes_from_copy,
    canonical_bytes_from_text,
    copy_canonical,
    copy_escape,
    copy_row,
    copy_text,
)

from .conftest import attacker, sealed_events

# Texts that COPY escapes, that JSON escapes, that look like COPY's NULL or like the template's own punctuation.
AWKWARD = ["", "plain", 'quo"te', "back\\slash", "tab\there", "new\nline", "cr\rx", "\b\f\v", "\x01ctl", "\x7fdel",
           "\x1f", "é", "😀", "\\N", "N", "\\", '","', '"', "null", " lead", "~", "{}", "[]", ", ", '", "', "\t",
           "\u2028", "\ud7ff"]
DETAILS = [{}, {"a": 1}, {"b": {"z": [1, 2.5, None, True, False, "x"]}, "a": "é"}, {"big": 10**30, "neg": -7},
           {"f": 1.5e-07, "g": 100.0, "h": -0.0}, {"s": 'a\\b"c\t\n\x01\x7f'}, {"": 0, "k y": [], "Z": {}, "a": {}},
           {"long": "x" * 3000}, ["list", 1], "a string", 5, None, {"deep": [[[[{"x": "\\N"}]]]]},
           {"b": 1, "aa": 2, "é": 3, "A": 4}]
AGENCIES = [[], ["a"], ["ag-1", "ag-2"], ['q"uote'], ["back\\slash"], ["é"], ["", ""], [", "], [", ", "b"],
            ['", "', "x"], [1, 2], [["nested"]], {"obj": 1}, "text", ["tab\t"], ["\x7f"]]


def line_of(position, seal_seq, prev_hash, hash_, seq, at, actor_id, actor_name, agency_id, agency_code, action,
            object_type, object_ref, request_id, client_ip, detail, agencies) -> bytes:
    """A row of the walk as COPY writes it (detail given as its stored text, agencies as the text jsonb writes)."""
    columns = [position, seal_seq, prev_hash, hash_, seq, at, actor_id, actor_name, agency_id, agency_code, action,
               object_type, object_ref, request_id, client_ip, detail, agencies]
    return b"\t".join(b"\\N" if c is None else copy_escape(str(c)) for c in columns) + b"\n"


def jsonb_text(value) -> str:
    """Roughly how jsonb writes a value: a space after ':' and ','. (Exactness against real jsonb output is the
    PostgreSQL test below; here any text will do, the property holds for every text.)"""
    return json.dumps(value, ensure_ascii=False)


def exact(line: bytes) -> bytes:
    row = copy_row(line)
    return canonical_bytes_from_text(row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11], row[12],
                                     row[15], row[13], row[14], row[16])


def assert_template_agrees(line: bytes) -> bool:
    """The template gives the exact bytes, or steps aside; it never gives other bytes, and never bytes for a row the
    exact path refuses (it refuses it too, or steps aside). Returns whether the template applied."""
    try:
        expected = exact(line)
    except (ValueError, TypeError, UnicodeError) as refused:
        try:
            fast = copy_canonical(line)[-1]
        except type(refused):
            return False
        assert fast is None, line
        return False
    fast = copy_canonical(line)[-1]
    assert fast is None or fast == expected, (line, fast, expected)
    assert canonical_bytes_from_copy(line) == expected
    return fast is not None


AT = "2026-11-24T10:00:00.123456Z"
PLAIN = dict(position=7, seal_seq=9, prev_hash="0" * 64, hash_="a" * 64, seq=9, at=AT, actor_id=3,
             actor_name="ann", agency_id=4, agency_code="mcc", action="check.allowed", object_type="dataset",
             object_ref="ds-1", request_id="r1", client_ip="10.0.0.1", detail='{"a":1}', agencies='["mcc", "mft"]')


class TemplateTests:
    def test_a_plain_row_takes_the_template_and_gives_the_canonical_bytes(self):
        line = line_of(**PLAIN)
        assert copy_canonical(line) == (b"7", b"9", b"0" * 64, b"a" * 64, b"9", AT.encode(), canonical.canonical_bytes(
            9, AT, 3, "ann", 4, "mcc", "check.allowed", "dataset", "ds-1", {"a": 1}, "r1", "10.0.0.1", ["mcc", "mft"]))

    @pytest.mark.parametrize("column", ["actor_name", "agency_code", "action", "object_type", "object_ref",
                                        "request_id", "client_ip", "prev_hash", "hash_", "at"])
    @pytest.mark.parametrize("text", AWKWARD)
    def test_every_awkward_text_in_every_text_column(self, column, text):
        assert_template_agrees(line_of(**{**PLAIN, column: text}))

    @pytest.mark.parametrize("text", ['q"', "\\", "é", "\x7f", "\x01", "\t", "\n", "\\N"])
    def test_a_text_json_or_copy_would_escape_never_takes_the_template(self, text):
        for column in ("actor_name", "object_ref", "request_id", "client_ip"):
            assert copy_canonical(line_of(**{**PLAIN, column: f"a{text}b"}))[-1] is None

    def test_nulls_where_json_has_null_take_the_template(self):
        for actor_id, agency_id, client_ip in itertools.product([None, 5], [None, 6], [None, "::1"]):
            line = line_of(**{**PLAIN, "actor_id": actor_id, "agency_id": agency_id, "client_ip": client_ip})
            assert assert_template_agrees(line)
            assert copy_canonical(line)[-1] == canonical.canonical_bytes(
                9, AT, actor_id, "ann", agency_id, "mcc", "check.allowed", "dataset", "ds-1", {"a": 1}, "r1", client_ip,
                ["mcc", "mft"])

    @pytest.mark.parametrize("column", ["actor_name", "agency_code", "action", "object_type", "object_ref",
                                        "request_id", "seq", "at", "prev_hash"])
    def test_a_null_where_json_has_no_null_never_takes_the_template(self, column):
        line = line_of(**{**PLAIN, column: None})
        assert copy_canonical(line)[-1] is None
        if column not in ("seq", "at"):  # the walk reports a deleted event before it encodes; at None is refused
            assert_template_agrees(line)

    def test_a_null_detail_is_what_the_exact_path_makes_of_it(self):
        assert assert_template_agrees(line_of(**{**PLAIN, "detail": None}))

    @pytest.mark.parametrize("agencies", [None, "{}", "0", "false", '""', "null"])
    def test_agencies_that_are_no_list_are_refused_both_ways(self, agencies):
        # Every event holds a list; another value (which would hash as no agencies) is not what was sealed.
        line = line_of(**{**PLAIN, "agencies": agencies})
        with pytest.raises(ValueError):
            exact(line)
        assert not assert_template_agrees(line)

    def test_nulls_and_a_literal_backslash_n_are_told_apart(self):
        # A NULL's \N and the two characters \N (which COPY writes \\N) in the same row.
        line = line_of(**{**PLAIN, "actor_id": None, "client_ip": "\\N"})
        assert b"\t\\N\t" in line and b"\\\\N" in line
        assert copy_canonical(line)[-1] is None
        assert b',null,"ann",4,' in exact(line) and b'"\\\\N"' in exact(line)

    @pytest.mark.parametrize("at", ["2026-11-24T10:00:00.123456", "2026-11-24 10:00:00.123456Z",
                                    "12026-11-24T10:00:00.123456Z", "2026-11-24T10:00:00.12345Z",
                                    "2026-11-24T10:00:00.123456+00:00"])
    def test_an_at_not_in_canonical_form_is_left_to_the_exact_path(self, at):
        line = line_of(**{**PLAIN, "at": at})
        assert copy_canonical(line)[-1] is None or len(at) == 27 and at.endswith("Z")
        assert_template_agrees(line)

    @pytest.mark.parametrize("detail", DETAILS, ids=range(len(DETAILS)))
    def test_every_detail(self, detail):
        stored = canonical.canonical_json(detail)  # as the application stores it: the bytes canonical_bytes gives
        line = line_of(**{**PLAIN, "detail": stored})
        assert assert_template_agrees(line)
        assert copy_canonical(line)[-1] == canonical.canonical_bytes(
            9, AT, 3, "ann", 4, "mcc", "check.allowed", "dataset", "ds-1", detail, "r1", "10.0.0.1", ["mcc", "mft"])
        # Any other text of the same value (as jsonb or json.dumps writes it) is other bytes: a stored detail
        # rewritten to one that decodes alike does not hash alike.
        for text in {jsonb_text(detail), json.dumps(detail), json.dumps(detail, indent=1)} - {stored}:
            other = line_of(**{**PLAIN, "detail": text})
            assert assert_template_agrees(other)
            assert copy_canonical(other)[-1] != copy_canonical(line)[-1]

    @pytest.mark.parametrize("agencies", AGENCIES, ids=range(len(AGENCIES)))
    def test_every_agencies(self, agencies):
        for text in (jsonb_text(agencies), json.dumps(agencies), json.dumps(agencies, separators=(",", ":"))):
            assert_template_agrees(line_of(**{**PLAIN, "agencies": text}))

    @pytest.mark.parametrize("text", ['["]', '[""]', '[", ", "b"]', '["a", "b" ]', '["a"] ', '["a"]["b"]',
                                      '["a", ", "b"]', '["a" , "b"]', '[ "a"]', '["a",  "b"]', "[]", "[ ]", '{"a": 1}',
                                      "null", "0", "false", '""', '["a"]x"]', '["a\\"b"]', '["\\u00e9"]'])
    def test_agencies_texts_that_only_look_like_a_list_of_strings(self, text):
        assert_template_agrees(line_of(**{**PLAIN, "agencies": text}))

    def test_detail_texts_stand_in_the_hashed_bytes_exactly_as_stored(self):
        first = line_of(**{**PLAIN, "detail": '{"a": "x\\\\y"}'})
        second = line_of(**{**PLAIN, "detail": '{"a": "x\\\\\\\\y"}'})
        assert copy_canonical(first)[-1] != copy_canonical(second)[-1]
        assert copy_canonical(first)[-1] == exact(first) and copy_canonical(second)[-1] == exact(second)

    def test_random_rows_from_awkward_parts(self):
        chooser = random.Random(20261207)
        plain_ones = 0

        def text(usual):
            return usual if chooser.random() < 0.8 else chooser.choice(AWKWARD)

        for _ in range(4000):
            values = {
                "actor_name": text("ann"), "agency_code": text("mcc"), "object_ref": text("ds-1"),
                "request_id": text(""), "client_ip": chooser.choice([None, text("::1")]),
                "actor_id": chooser.choice([None, 0, -5, 2**31 - 1]), "agency_id": chooser.choice([None, 1, 2**63 - 1]),
                "detail": jsonb_text(chooser.choice(DETAILS)), "agencies": jsonb_text(chooser.choice(AGENCIES)),
            }
            plain_ones += assert_template_agrees(line_of(**{**PLAIN, **values}))
        assert 1000 < plain_ones < 3000  # both ways were taken, many times

    def test_copy_text_undoes_copy_escape_for_any_mix_of_backslashes_and_escapes(self):
        chooser = random.Random(7)
        for _ in range(3000):
            text = "".join(chooser.choice(["\\", "\\\\", "n", "N", "t", "\n", "\t", "\r", "\b", "\f", "\v", "x", "é"])
                           for _ in range(chooser.randint(0, 8)))
            assert copy_text(copy_escape(text)) == text, repr(text)

    def test_copy_text_undoes_copy_escape(self):
        for text in [*AWKWARD, "".join(AWKWARD), "\\\\N", "a\\tb"]:
            assert copy_text(copy_escape(text)) == text
        assert copy_text(b"\\N") is None
        with pytest.raises(ValueError):
            copy_text(b"a\\x41")  # COPY TO never writes it: refused, not guessed


def walk_rows() -> list[tuple[bytes, tuple]]:
    """Every row of the walk, as COPY gives it and as psycopg2 gives it."""
    sql, params = chain.walk_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        lines: list[bytes] = []

        class Sink:
            write = lines.append

        cursor.cursor.copy_expert(f"COPY ({cursor.mogrify(sql, params).decode()}) TO STDOUT", Sink())
    assert len(lines) == len(rows)
    return list(zip(lines, rows, strict=True))


@pytest.mark.postgres
@pytest.mark.django_db
class PostgreSQLCopyTests:
    """The same, against what PostgreSQL itself writes (jsonb's text, inet's, to_char's) for rows an attacker could
    plant, and the walk over them."""

    def plant(self) -> list[int]:
        sealed_events(2)
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        rows = []
        lists = [agencies for agencies in AGENCIES if isinstance(agencies, list)]  # what every event holds
        for i, (text, detail, agencies) in enumerate(zip(itertools.cycle(AWKWARD), itertools.cycle(DETAILS),
                                                          itertools.cycle(lists))):
            if i >= 3 * len(AWKWARD):
                break
            rows.append(dict(
                at=start + dt.timedelta(microseconds=7 * i), actor_name=text if i % 3 else "ann",
                actor_id=[None, 0, -5, 2**31 - 1][i % 4], agency_code="mcc" if i % 4 else text,
                agency_id=[None, 2**63 - 1][i % 2], action="check.allowed",
                object_type=text if i % 5 == 1 else "dataset", object_ref=f"ref-{i}-{text}",
                request_id=text if i % 3 == 2 else "", client_ip=[None, "127.0.0.1", "2001:db8::1"][i % 3],
                detail=json.dumps(detail), agencies=json.dumps(agencies)))
        seqs = []
        with attacker() as cursor:  # ids that no user or agency has, and texts no writer writes
            for row in rows:
                cursor.execute(
                    "INSERT INTO audit_auditevent (at, actor_name, actor_id, agency_code, agency_id, action, "
                    "object_type, object_ref, request_id, client_ip, detail, agencies) VALUES "
                    "(%(at)s, %(actor_name)s, %(actor_id)s, %(agency_code)s, %(agency_id)s, %(action)s, "
                    "%(object_type)s, %(object_ref)s, %(request_id)s, %(client_ip)s, %(detail)s, %(agencies)s) "
                    "RETURNING seq", row)
                seqs.append(cursor.fetchone()[0])
        chain.seal_pending(force_checkpoint=True)  # sealed by the exact path (the driver's tuples)
        sealed_events(2)
        return seqs

    def test_the_template_gives_what_the_exact_path_gives_for_every_row_postgresql_writes(self):
        self.plant()
        fast = 0
        for line, row in walk_rows():
            assert copy_row(line) == list(row)  # the decoding agrees with the driver, column by column
            expected = canonical_bytes_from_text(*row[4:13], row[15], row[13], row[14], row[16])
            assert canonical_bytes_from_copy(line) == expected
            assert canonical.link_hash(row[2], expected) == row[3]  # what the sealer hashed
            fast += copy_canonical(line)[-1] is not None
        assert 10 < fast < len(AWKWARD) * 3  # both ways were taken

    def test_the_walk_verifies_them_and_catches_a_change_to_any(self):
        seqs = self.plant()
        assert chain.verify().ok
        for seq in (seqs[0], seqs[1], seqs[5], seqs[-1]):
            with transaction.atomic():
                with attacker() as cursor:
                    cursor.execute("UPDATE audit_auditevent SET detail = detail || '{\"x\": 1}' WHERE seq = %s", [seq])
                result = chain.verify()
                assert (result.ok, result.first_bad_seq) == (False, seq), result.summary
                transaction.set_rollback(True)

    def test_a_walk_that_stops_mid_copy_leaves_the_transaction_usable(self):
        seqs = sealed_events(300)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET actor_name = 'x' WHERE seq = %s", [seqs[0]])
        with transaction.atomic(), connection.cursor() as cursor:
            walked = chain._walk_range(start=1, stop=None, prev=chain.GENESIS_HASH, heads=[], segment_from=1)
            assert walked.failure is not None and walked.failure.position == 1 and walked.count == 0
            cursor.execute("SELECT COUNT(*) FROM audit_auditseal")
            assert cursor.fetchone()[0] == 300

    def test_a_column_altered_to_another_type_fails_the_walk(self):
        sealed_events(3)
        assert chain.verify().ok
        with attacker() as cursor:  # the same digits, as text: the exact path would hash them as strings
            cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'audit_auditevent'::regclass AND "
                           "contype = 'f' AND conname LIKE '%%actor_id%%'")
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE audit_auditevent DROP CONSTRAINT "{name}"')
            cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN actor_id TYPE text USING actor_id::text")
        result = chain.verify()
        assert not result.ok and "altered" in result.message and "actor_id" in result.message

    def test_a_wider_integer_or_text_column_still_verifies(self):
        sealed_events(3)
        with attacker() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN actor_id TYPE bigint, "
                           "ALTER COLUMN request_id TYPE text")
        assert chain.verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class PostgreSQLParallelCopyTests:
    def test_ranges_in_parallel_over_awkward_rows(self):
        seqs = PostgreSQLCopyTests().plant()
        single, parallel = chain.verify(processes=1), chain.verify(processes=3, min_range=1)
        assert single.ok and parallel.ok, parallel.summary
        assert parallel.events == single.events == len(seqs) + 4
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = object_ref || 'x' WHERE seq = %s", [seqs[-3]])
        result = chain.verify(processes=3, min_range=1)
        assert (result.ok, result.first_bad_seq) == (False, seqs[-3]), result.summary
