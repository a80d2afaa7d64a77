"""Streamed exports of audit events (CSV and JSONL), with constant memory however many rows there are.

Rows come from a server-side cursor in chunks (`iterator(chunk_size=...)`) as plain tuples, never model
objects. The JSONL lines carry every hashed field, so scripts/verify_audit_export.py can check them offline.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet

from .chain import canonical_at

CHUNK_SIZE = 2000
CONTRACT_FIELDS = ["seq", "at", "actor", "agency", "action", "object_type", "object_ref", "detail", "hash",
                   "prev_hash"]
CSV_FIELDS = [*CONTRACT_FIELDS, "position", "request_id", "client_ip"]
_COLUMNS = ("seq", "at", "actor_id", "actor_name", "agency_id", "agency_code", "action", "object_type", "object_ref",
            "detail", "request_id", "client_ip", "seal__position", "seal__prev_hash", "seal__hash")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rows_queryset(events: QuerySet) -> QuerySet:
    """The rows an export reads, as plain tuples in seq order (bench.export COPYs this same query)."""
    return events.order_by("seq").values_list(*_COLUMNS)


def _rows(events: QuerySet) -> Iterator[tuple]:
    return rows_queryset(events).iterator(chunk_size=CHUNK_SIZE)


def neutralise(cell: str) -> str:
    """Stop a spreadsheet from running a cell as a formula (CSV injection): prefix it with a quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


class _Line:
    """A file-like object whose write() hands back the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(events: QuerySet, counter: list[int]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_FIELDS)
    for (seq, at, _actor_id, actor, _agency_id, agency, action, object_type, object_ref, detail, request_id,
         client_ip, position, prev_hash, digest) in _rows(events):
        counter[0] += 1
        yield writer.writerow([
            seq, canonical_at(at), neutralise(actor), neutralise(agency), neutralise(action),
            neutralise(object_type), neutralise(object_ref), neutralise(_json.encode(detail)), digest or "",
            prev_hash or "", position or "", neutralise(request_id), client_ip or "",
        ])


def jsonl_lines(events: QuerySet, counter: list[int]) -> Iterator[str]:
    for (seq, at, actor_id, actor, agency_id, agency, action, object_type, object_ref, detail, request_id,
         client_ip, position, prev_hash, digest) in _rows(events):
        counter[0] += 1
        yield _json.encode({
            "seq": seq, "at": canonical_at(at), "actor": actor, "agency": agency, "action": action,
            "object_type": object_type, "object_ref": object_ref, "detail": detail, "hash": digest,
            "prev_hash": prev_hash, "position": position, "actor_id": actor_id, "agency_id": agency_id,
            "request_id": request_id, "client_ip": client_ip,
        }) + "\n"


def stream(lines: Iterator[str], on_finish: Callable[[int, bool], Any], counter: list[int]) -> Iterator[bytes]:
    """Encode lines in batches of about 64 KiB; call on_finish(rows, complete) however the stream ends."""
    complete = False
    buffer: list[str] = []
    size = 0
    try:
        for line in lines:
            buffer.append(line)
            size += len(line)
            if size >= 65536:
                yield "".join(buffer).encode("utf-8")
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer).encode("utf-8")
        complete = True
    finally:
        on_finish(counter[0], complete)
