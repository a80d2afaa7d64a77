"""Streamed exports of audit events (CSV and JSONL), with constant memory however many rows there are.

On PostgreSQL the CSV is PostgreSQL's own `COPY (query) TO STDOUT WITH CSV`: the query (the auditor's filters,
from audit.selectors) formats every cell in SQL (UTC timestamps, formula-neutralised text, the JSON detail), and
a reader thread hands its output to the response in 64 KiB chunks through a small bounded queue, so memory stays
flat and rows flow at close to COPY's own rate. Elsewhere (SQLite), and for JSONL, rows come from a server-side
cursor in chunks (`iterator(chunk_size=...)`) as plain tuples, never model objects. The JSONL lines carry every
hashed field, so scripts/verify_audit_export.py can check them offline.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal, overload

from django.db import connection
from django.db.models import F, Func, QuerySet, TextField
from django.db.models.functions import Cast

from .chain import canonical_at

CHUNK_SIZE = 2000
CONTRACT_FIELDS = ["seq", "at", "actor", "agency", "action", "object_type", "object_ref", "detail", "hash",
                   "prev_hash"]
CSV_FIELDS = [*CONTRACT_FIELDS, "position", "request_id", "client_ip", "agencies"]
_COLUMNS = ("seq", "at", "actor_id", "actor_name", "agency_id", "agency_code", "action", "object_type", "object_ref",
            "detail", "request_id", "client_ip", "seal__position", "seal__prev_hash", "seal__hash", "agencies")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rows_queryset(events: QuerySet, *, detail: str = "detail") -> QuerySet:
    """The rows an export reads, as plain tuples in seq order (bench.export COPYs this same query); `detail` names
    what stands in the detail's place (the decoded value, or the CSV's stored text)."""
    return events.order_by("seq").values_list(*(detail if name == "detail" else name for name in _COLUMNS))


def _rows(events: QuerySet, *, detail: str = "detail") -> Iterator[tuple]:
    return rows_queryset(events, detail=detail).iterator(chunk_size=CHUNK_SIZE)


def neutralise(cell: str) -> str:
    """Stop a spreadsheet from running a cell as a formula (CSV injection): prefix it with a quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


class _Neutralised(Func):
    """neutralise() in SQL; an empty string becomes NULL, which COPY writes as an empty cell, as csv_row does."""

    template = (
        "CASE WHEN left(%(expressions)s, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        "THEN '''' || %(expressions)s ELSE NULLIF(%(expressions)s, '') END"
    )
    output_field = TextField()


class _UtcText(Func):
    template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    output_field = TextField()


class _Host(Func):
    function = "host"
    output_field = TextField()


class _Codes(Func):
    """The agencies an event concerns as one cell, codes separated by spaces (as csv_cell_codes writes them)."""

    template = "NULLIF(array_to_string(ARRAY(SELECT jsonb_array_elements_text(%(expressions)s)), ' '), '')"
    output_field = TextField()


def csv_cell_codes(codes: list[str] | None) -> str:
    return " ".join(codes or [])


def copy_queryset(events: QuerySet) -> QuerySet:
    """The CSV's rows with every cell formatted in SQL, in CSV_FIELDS order (PostgreSQL)."""
    cells = {
        "c_at": _UtcText(F("at")), "c_actor": _Neutralised(F("actor_name")),
        "c_agency": _Neutralised(F("agency_code")), "c_action": _Neutralised(F("action")),
        "c_type": _Neutralised(F("object_type")), "c_ref": _Neutralised(F("object_ref")),
        "c_detail": _Neutralised(F("detail")), "c_request": _Neutralised(F("request_id")),
        "c_ip": _Host(F("client_ip")), "c_agencies": _Codes(F("agencies")),
    }
    return events.order_by("seq").annotate(**cells).values_list(
        "seq", "c_at", "c_actor", "c_agency", "c_action", "c_type", "c_ref", "c_detail", "seal__hash",
        "seal__prev_hash", "seal__position", "c_request", "c_ip", "c_agencies",
    )


_CHUNK = 1 << 16


class _Abandoned(Exception):
    """The response stopped reading (the client went away): the COPY is aborted."""


@contextlib.contextmanager
def _catalog_first(cursor: Any, *, local: bool) -> Iterator[None]:
    """PostgreSQL's own functions and operators before any schema listed ahead of pg_catalog in search_path (which
    the database's owner can set for every session), so that the cells COPY formats are PostgreSQL's own. For the
    transaction (`local`: a failed COPY's rollback puts it back) or the session, until the COPY ends."""
    cursor.execute("SELECT pg_catalog.current_setting('search_path')")
    search_path = cursor.fetchone()[0]
    restore = "SELECT pg_catalog.set_config('search_path', %s, %s)"
    cursor.execute(restore, ["pg_catalog, " + search_path, local])
    try:
        yield
    except BaseException:
        if not local:
            cursor.execute(restore, [search_path, local])
        raise
    cursor.execute(restore, [search_path, local])


def _copy_csv(events: QuerySet, counter: list[int]) -> Iterator[bytes]:
    """COPY the formatted rows out, in a reader thread on this request's own connection (the request thread does
    not touch the database while it streams), through a bounded queue: flat memory, and if the client goes away
    the COPY is aborted and the connection stays usable."""
    sql, params = copy_queryset(events).query.sql_with_params()
    connection.ensure_connection()
    raw = connection.connection
    with connection.cursor() as cursor:
        statement = f"COPY ({cursor.mogrify(sql, params).decode()}) TO STDOUT WITH (FORMAT csv)"
    chunks: queue.Queue = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: tuple) -> None:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Abandoned

    class Writer:
        def __init__(self) -> None:
            self.parts: list[bytes] = []
            self.size = 0

        def write(self, data: bytes) -> int:
            self.parts.append(data)
            self.size += len(data)
            if self.size >= _CHUNK:
                self.flush()
            return len(data)

        def flush(self) -> None:
            if self.parts:
                put(("data", b"".join(self.parts)))
                self.parts, self.size = [], 0

    def read() -> None:
        try:
            with raw.cursor() as cursor, _catalog_first(cursor, local=not raw.autocommit):
                writer = Writer()
                cursor.copy_expert(statement, writer, size=_CHUNK)
                writer.flush()
                put(("done", cursor.rowcount))
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the request thread, which raises it  # noqa: BLE001
            try:
                put(("error", exc))
            except _Abandoned:
                pass

    thread = threading.Thread(target=read, name="audit-export-copy", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = chunks.get()
            if kind == "data":
                counter[0] += value.count(b"\n")  # rows so far (exact once COPY reports its count)
                yield value  # UTF-8 already (the connection's client encoding): passed through as it is
            elif kind == "done":
                counter[0] = value
                return
            else:
                raise value
    finally:
        stop.set()
        thread.join()


@overload
def csv_lines(events: QuerySet, counter: list[int], *, copy: Literal[False]) -> Iterator[str]: ...
@overload
def csv_lines(events: QuerySet, counter: list[int], *, copy: bool = True) -> Iterator[str | bytes]: ...
def csv_lines(events: QuerySet, counter: list[int], *, copy: bool = True) -> Iterator[str | bytes]:
    """The CSV export. On PostgreSQL it is COPY (bytes, from a reader thread on this connection) unless `copy`
    is False: a background job, which writes its progress on the same connection while it runs, reads rows.
    Either way the file is the same, byte for byte (csv_row writes what COPY writes), on either database."""
    yield csv_row(CSV_FIELDS)
    if copy and connection.vendor == "postgresql":
        yield from _copy_csv(events, counter)
        return
    stored = events.annotate(detail_text=Cast("detail", output_field=TextField()))
    for (seq, at, _actor_id, actor, _agency_id, agency, action, object_type, object_ref, detail, request_id,
         client_ip, position, prev_hash, digest, agencies) in _rows(stored, detail="detail_text"):
        counter[0] += 1
        yield csv_row([
            str(seq), canonical_at(at), neutralise(actor), neutralise(agency), neutralise(action),
            neutralise(object_type), neutralise(object_ref), neutralise(detail or ""), digest or "",
            prev_hash or "", "" if position is None else str(position), neutralise(request_id), client_ip or "",
            csv_cell_codes(agencies),
        ])


def csv_row(cells: list[str]) -> str:
    """One CSV line as PostgreSQL's COPY ... WITH (FORMAT csv) writes it: a cell is quoted (quotes doubled) only
    when it holds a comma, a quote, a carriage return or a newline; an empty cell is empty; lines end in "\n"."""
    return ",".join(
        f'"{cell.replace(chr(34), chr(34) * 2)}"' if any(c in cell for c in ',"\r\n') else cell for cell in cells
    ) + "\n"


def jsonl_lines(events: QuerySet, counter: list[int]) -> Iterator[str]:
    for (seq, at, actor_id, actor, agency_id, agency, action, object_type, object_ref, detail, request_id,
         client_ip, position, prev_hash, digest, agencies) in _rows(events):
        counter[0] += 1
        yield _json.encode({
            "seq": seq, "at": canonical_at(at), "actor": actor, "agency": agency, "action": action,
            "object_type": object_type, "object_ref": object_ref, "detail": detail, "hash": digest,
            "prev_hash": prev_hash, "position": position, "actor_id": actor_id, "agency_id": agency_id,
            "request_id": request_id, "client_ip": client_ip, "agencies": agencies or [],
        }) + "\n"


def stream(lines: Iterator[str | bytes], on_finish: Callable[[int, bool], Any], counter: list[int]) -> Iterator[bytes]:
    """Encode lines in batches of about 64 KiB (chunks that arrive as bytes pass straight through); call
    on_finish(rows, complete) however the stream ends. A lone surrogate (a detail may hold one: JSON carries it as
    \\udXXX, UTF-8 cannot) is written as that escape, which in a JSON line's string is the same value again."""
    complete = False
    buffer: list[str] = []
    size = 0
    try:
        for line in lines:
            if isinstance(line, bytes):
                if buffer:
                    yield "".join(buffer).encode("utf-8", "backslashreplace")
                    buffer, size = [], 0
                yield line
                continue
            buffer.append(line)
            size += len(line)
            if size >= 65536:
                yield "".join(buffer).encode("utf-8", "backslashreplace")
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer).encode("utf-8", "backslashreplace")
        complete = True
    finally:
        on_finish(counter[0], complete)
