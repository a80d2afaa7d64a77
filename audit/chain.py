"""The hash chain over audit events: canonical form, sealing, signed checkpoints and verification.

Writers never wait for the chain: `record()` is a plain INSERT. The sealer (one at a time) later gives each
committed event the next `position` and a hash over its canonical form and the previous hash, and signs the
head in a checkpoint. `verify()` recomputes everything. The algorithm is documented in docs/audit.md, and
scripts/verify_audit_export.py repeats it offline; keep the three in step.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import keys
from .models import AuditCheckpoint

logger = logging.getLogger(__name__)

CANONICAL_VERSION = "sr-audit-v1"
CHECKPOINT_VERSION = "sr-audit-checkpoint-v1"
GENESIS_HASH = "0" * 64
SEAL_LOCK_KEY = 0x5EA1_A0D17  # pg_advisory_xact_lock key: one sealer at a time
SEAL_BATCH = 20_000
FETCH_BATCH = 20_000

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
_scan = json.JSONDecoder().scan_once  # the C scanner: json.loads without its Python wrapper (verify is hot)
try:
    from json.encoder import c_make_encoder as _c_make_encoder
    from json.encoder import encode_basestring_ascii as _escape

    def _refuse(value):
        raise TypeError(f"{type(value).__name__} is not JSON")

    _c_encode = _c_make_encoder(None, _refuse, _escape, None, ":", ",", True, False, False)
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    _c_encode = None


# --- canonical form -------------------------------------------------------------------------------------------


def canonical_at(value: dt.datetime | str) -> str:
    """UTC, ISO 8601, always six fractional digits: 2026-11-24T10:00:00.000000Z."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(
    seq: int,
    at: str,
    actor_id: int | None,
    actor_name: str,
    agency_id: int | None,
    agency_code: str,
    action: str,
    object_type: str,
    object_ref: str,
    detail: Any,
    request_id: str,
    client_ip: str | None,
    agencies: list[str] | None = None,
) -> bytes:
    """The bytes an event's hash covers: a compact JSON array in this fixed order, keys sorted, ASCII only.
    The agencies the event concerns come last, only when there are any (events written before they were
    recorded have none, and keep the hash they were sealed with)."""
    value = [CANONICAL_VERSION, seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
             object_ref, detail, request_id, client_ip]
    if agencies:
        value.append(agencies)
    if _c_encode is not None:
        return "".join(_c_encode(value, 0)).encode("ascii")
    return _encoder.encode(value).encode("ascii")


def link_hash(prev_hash: str, canonical: bytes) -> str:
    """hash = SHA-256(prev_hash as 64 ASCII hex digits || canonical bytes), as hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def checkpoint_message(*, position: int, head_seq: int, head_hash: str, seq_high: int, created_at: str) -> bytes:
    return f"{CHECKPOINT_VERSION}\n{position}\n{head_seq}\n{head_hash}\n{seq_high}\n{created_at}\n".encode("ascii")


# --- reading events as canonical tuples -------------------------------------------------------------------------


def _event_columns(alias: str) -> str:
    """SELECT list giving (seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type, object_ref,
    detail text, request_id, client_ip). On PostgreSQL the timestamp is formatted by the server (fast path)."""
    if connection.vendor == "postgresql":
        at = f"""to_char({alias}.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        detail = f"{alias}.detail::text"
        ip = f"host({alias}.client_ip)"
        agencies = f"{alias}.agencies::text"
    else:
        at, detail, ip, agencies = f"{alias}.at", f"{alias}.detail", f"{alias}.client_ip", f"{alias}.agencies"
    return (
        f"{alias}.seq, {at}, {alias}.actor_id, {alias}.actor_name, {alias}.agency_id, {alias}.agency_code, "
        f"{alias}.action, {alias}.object_type, {alias}.object_ref, {detail}, {alias}.request_id, {ip}, {agencies}"
    )


def _canonical_from_row(row: Sequence[Any]) -> bytes:
    at = row[1] if isinstance(row[1], str) and row[1].endswith("Z") else canonical_at(row[1])
    detail_text = row[9]
    detail = {} if detail_text == "{}" else _scan(detail_text, 0)[0] if isinstance(detail_text, str) else detail_text
    agencies = row[12]
    agencies = None if agencies in (None, "[]") else _scan(agencies, 0)[0] if isinstance(agencies, str) else agencies
    return canonical_bytes(row[0], at, row[2], row[3], row[4], row[5], row[6], row[7], row[8], detail, row[10],
                           row[11], agencies)


def _stream(sql: str, params: Sequence[Any] = ()) -> Iterator[tuple]:
    """Rows of a query, fetched in batches; a server-side cursor on PostgreSQL so memory stays flat."""
    cursor = connection.chunked_cursor() if connection.vendor == "postgresql" else connection.cursor()
    try:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(FETCH_BATCH)
            if not rows:
                return
            yield from rows
    finally:
        cursor.close()


def _stream_ahead(sql: str, params: Sequence[Any] = ()) -> Iterator[tuple]:
    """Like _stream, but a reader thread fetches the next batch while this one works on the last: psycopg2 lets
    go of the GIL while PostgreSQL produces rows, so the server's work and the hashing overlap (verify is bound
    by the two together). Same connection, same transaction and snapshot; SQLite reads in line."""
    if connection.vendor != "postgresql":
        yield from _stream(sql, params)
        return
    connection.ensure_connection()
    raw = connection.connection
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        cursor = raw.cursor(name=f"audit_walk_{threading.get_ident()}")
        try:
            cursor.execute(sql, params)
            while not stop.is_set():
                rows = cursor.fetchmany(FETCH_BATCH)
                if not put(rows) or not rows:
                    return
        except BaseException as exc:  # handed to the reading thread, which raises it
            put(exc)
        finally:
            try:
                cursor.close()
            except Exception:  # noqa: S110 - the transaction may already be failing; its owner reports that
                pass

    thread = threading.Thread(target=read, name="audit-verify-fetch", daemon=True)
    thread.start()
    try:
        while True:
            rows = batches.get()
            if isinstance(rows, BaseException):
                raise rows
            if not rows:
                return
            yield from rows
    finally:
        stop.set()
        thread.join()


# --- sealing -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealResult:
    sealed: int
    position: int
    checkpoint: AuditCheckpoint | None


def _seal_lock(cursor) -> None:
    # On SQLite the IMMEDIATE transaction already holds the database's one write lock.
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])


def _seal_floor(cursor, now: dt.datetime) -> int:
    """Seqs at or below this are settled: they were below the high-water mark longer than any transaction may
    last (AUDIT_LATE_COMMIT_SECONDS). Scanning only above it keeps each run small on a huge table."""
    cutoff = now - dt.timedelta(seconds=settings.AUDIT_LATE_COMMIT_SECONDS)
    cursor.execute(
        "SELECT seq_high FROM audit_auditcheckpoint WHERE created_at < %s ORDER BY id DESC LIMIT 1", [cutoff]
    )
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _seal_batch(*, full: bool, force_checkpoint: bool) -> SealResult:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        _seal_lock(cursor)
        cursor.execute("SELECT position, hash FROM audit_auditseal ORDER BY position DESC LIMIT 1")
        head = cursor.fetchone() or (0, GENESIS_HASH)
        position, prev_hash = int(head[0]), head[1]
        floor = 0 if full else _seal_floor(cursor, now)
        cursor.execute(
            f"SELECT {_event_columns('e')} FROM audit_auditevent e WHERE e.seq > %s AND NOT EXISTS "  # noqa: S608
            "(SELECT 1 FROM audit_auditseal s WHERE s.seq = e.seq AND s.seq > %s) ORDER BY e.seq LIMIT %s",
            [floor, floor, SEAL_BATCH],
        )
        rows = cursor.fetchall()
        seqs, positions, prevs, hashes = [], [], [], []
        for row in rows:
            position += 1
            digest = link_hash(prev_hash, _canonical_from_row(row))
            seqs.append(row[0])
            positions.append(position)
            prevs.append(prev_hash)
            hashes.append(digest)
            prev_hash = digest
        _insert_seals(cursor, seqs, positions, prevs, hashes, now)
        checkpoint = _maybe_checkpoint(cursor, now, force=force_checkpoint)
    return SealResult(sealed=len(seqs), position=position, checkpoint=checkpoint)


def _insert_seals(cursor, seqs: list, positions: list, prevs: list, hashes: list, now: dt.datetime) -> None:
    """One statement per batch: the sealer must outpace thousands of writers a second."""
    if not seqs:
        return
    if connection.vendor == "postgresql":
        cursor.execute(
            "INSERT INTO audit_auditseal (seq, position, prev_hash, hash, sealed_at) "
            "SELECT u.seq, u.position, u.prev_hash, u.hash, %s FROM unnest(%s::bigint[], %s::bigint[], %s::text[], "
            "%s::text[]) AS u(seq, position, prev_hash, hash)",
            [now, seqs, positions, prevs, hashes],
        )
    else:
        cursor.executemany(
            "INSERT INTO audit_auditseal (seq, position, prev_hash, hash, sealed_at) VALUES (%s, %s, %s, %s, %s)",
            [(seq, pos, prev, digest, now) for seq, pos, prev, digest in zip(seqs, positions, prevs, hashes,
                                                                             strict=True)],
        )


def _maybe_checkpoint(cursor, now: dt.datetime, *, force: bool) -> AuditCheckpoint | None:
    """Sign the head when it moved, at most every AUDIT_CHECKPOINT_SECONDS unless forced."""
    cursor.execute("SELECT position, seq, hash FROM audit_auditseal ORDER BY position DESC LIMIT 1")
    head = cursor.fetchone()
    if head is None:
        return None
    last = AuditCheckpoint.objects.order_by("-id").values_list("position", "created_at", "seq_high").first()
    if last is not None:
        if last[0] >= head[0]:
            return None
        if not force and (now - last[1]).total_seconds() < settings.AUDIT_CHECKPOINT_SECONDS:
            return None
    cursor.execute("SELECT MAX(seq) FROM audit_auditseal WHERE position > %s", [last[0] if last else 0])
    seq_high = max(int(cursor.fetchone()[0]), last[2] if last else 0)
    key = keys.signing_key()
    message = checkpoint_message(
        position=head[0], head_seq=head[1], head_hash=head[2], seq_high=seq_high, created_at=canonical_at(now)
    )
    checkpoint = AuditCheckpoint.objects.create(
        position=head[0], head_seq=head[1], head_hash=head[2], seq_high=seq_high, created_at=now,
        key_id=key.key_id, signature=key.sign(message),
    )
    logger.info(
        "audit checkpoint",
        extra={"position": head[0], "head_hash": head[2], "key_id": key.key_id, "signature": checkpoint.signature},
    )
    return checkpoint


def seal_pending(*, full: bool = False, force_checkpoint: bool = False) -> SealResult:
    """Seal every committed, unsealed event in seq order, then sign the head. Safe to call from anywhere.

    `full` looks below the settled floor too (verify does); `force_checkpoint` signs the head even if the last
    checkpoint is recent.
    """
    total, result = 0, SealResult(0, 0, None)
    while True:
        result = _seal_batch(full=full, force_checkpoint=force_checkpoint)
        total += result.sealed
        if result.sealed < SEAL_BATCH:
            return SealResult(sealed=total, position=result.position, checkpoint=result.checkpoint)


# --- verification ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    message: str = ""
    seconds: float = 0.0

    @property
    def summary(self) -> str:
        return f"OK {self.events} events" if self.ok else f"FAILED at seq {self.first_bad_seq}: {self.message}"


class _Failure(Exception):
    def __init__(self, seq: int | None, message: str):
        super().__init__(message)
        self.seq, self.message = seq, message


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """The current key, plus any retired public keys (AUDIT_RETIRED_PUBLIC_KEYS, base64 raw) after a rotation."""
    current = keys.signing_key()
    trusted = {current.key_id: current.public}
    for encoded in getattr(settings, "AUDIT_RETIRED_PUBLIC_KEYS", []):
        raw = base64.b64decode(encoded)
        trusted[keys.key_id_for(raw)] = Ed25519PublicKey.from_public_bytes(raw)
    return trusted


def _checkpoint_rows() -> Iterator[tuple]:
    yield from _stream(
        "SELECT id, position, head_seq, head_hash, seq_high, created_at, key_id, signature "
        "FROM audit_auditcheckpoint ORDER BY position, id"
    )


def _check_signature(cp: tuple, trusted: dict[str, Ed25519PublicKey]) -> bool:
    _, position, head_seq, head_hash, seq_high, created_at, key_id, signature = cp
    public = trusted.get(key_id)
    if public is None:
        return False
    message = checkpoint_message(position=position, head_seq=head_seq, head_hash=head_hash, seq_high=seq_high,
                                 created_at=canonical_at(created_at))
    try:
        public.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _stale_unsealed(now: dt.datetime) -> int | None:
    cutoff = now - dt.timedelta(seconds=settings.AUDIT_SEAL_WINDOW_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(e.seq) FROM audit_auditevent e WHERE e.at < %s AND NOT EXISTS "
            "(SELECT 1 FROM audit_auditseal s WHERE s.seq = e.seq)",
            [cutoff],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else None


def _walk_chain(trusted: dict[str, Ed25519PublicKey]) -> int:
    """Recompute the chain in position order against the stored seals and the signed checkpoints."""
    checkpoints = _checkpoint_rows()
    try:
        return _walk(trusted, checkpoints)
    finally:
        checkpoints.close()  # inside the snapshot's transaction, so its server-side cursor closes cleanly


def _walk(trusted: dict[str, Ed25519PublicKey], checkpoints: Iterator[tuple]) -> int:
    grace = dt.timedelta(seconds=settings.AUDIT_LATE_COMMIT_SECONDS)
    cp = next(checkpoints, None)
    expected, prev, latest_at = 1, GENESIS_HASH, ""
    segment_start: int | None = None  # first seq after the last checkpoint that matched
    last_seq: int | None = None
    sha256 = hashlib.sha256
    sql = (
        f"SELECT s.position, s.seq, s.prev_hash, s.hash, e.seq IS NOT NULL, {_event_columns('e')} "  # noqa: S608
        "FROM audit_auditseal s LEFT JOIN audit_auditevent e ON e.seq = s.seq ORDER BY s.position"
    )
    encode, scan, empty = _c_encode, _scan, {}
    for row in _stream_ahead(sql):
        # The hot loop (a million rows is seconds): locals only, one unpack, one encode, one hash per row.
        (position, seq, stored_prev, stored_hash, present,
         e_seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type, object_ref, detail, request_id,
         client_ip, agencies) = row
        if segment_start is None:
            segment_start = seq
        if position != expected:
            raise _Failure(seq, f"the chain jumps from position {expected - 1} to {position}: events were removed "
                                f"before seq {seq}")
        if not present:
            raise _Failure(seq, f"event seq {seq} is sealed in the chain but has been deleted")
        if stored_prev != prev:
            raise _Failure(seq, f"seq {seq} does not follow the event before it in the chain: rows were removed, "
                                "inserted or reordered")
        if type(at) is not str or at[-1:] != "Z":  # PostgreSQL formats it already; SQLite gives its stored text
            at = canonical_at(at)
        if encode is None:  # pragma: no cover - CPython always has the C encoder
            canonical = _canonical_from_row(row[5:])
        else:
            if detail == "{}":
                detail = empty
            elif type(detail) is str:
                detail = scan(detail, 0)[0]
            value = [CANONICAL_VERSION, e_seq, at, actor_id, actor_name, agency_id, agency_code, action,
                     object_type, object_ref, detail, request_id, client_ip]
            if agencies is not None and agencies != "[]" and agencies != []:
                value.append(scan(agencies, 0)[0] if type(agencies) is str else agencies)
            canonical = "".join(encode(value, 0)).encode("ascii")
        if sha256(prev.encode("ascii") + canonical).hexdigest() != stored_hash:
            raise _Failure(seq, f"seq {seq} has been changed since it was sealed")
        if at < latest_at:
            if dt.datetime.fromisoformat(latest_at) - dt.datetime.fromisoformat(at) > grace:
                raise _Failure(seq, f"seq {seq} is dated {at}, long before the events sealed ahead of it: a row "
                                    "slipped into the past")
        else:
            latest_at = at
        while cp is not None and cp[1] <= position:
            if cp[1] < position or cp[2] != seq or cp[3] != stored_hash or not _check_signature(cp, trusted):
                raise _Failure(segment_start, f"signed checkpoint {cp[0]} at position {cp[1]} does not match the "
                                              f"chain: rows from seq {segment_start} on were altered and re-hashed")
            segment_start = None
            cp = next(checkpoints, None)
        prev, last_seq, expected = stored_hash, seq, expected + 1
    if cp is not None:
        # The removed events are gone; seqs only grow, so the first of them follows the last one left.
        first_missing = cp[2] if last_seq is None else min(last_seq + 1, cp[2])
        raise _Failure(first_missing, f"the chain ends at position {expected - 1} (seq {last_seq}) but signed "
                                      f"checkpoint {cp[0]} covers position {cp[1]} (seq {cp[2]}): events from "
                                      f"seq {first_missing} to seq {cp[2]} were removed from the end")
    return expected - 1


def verify(*, seal_first: bool = True) -> VerifyResult:
    """Check the whole log. Seals pending events first (legitimately); an event unsealed for longer than
    AUDIT_SEAL_WINDOW_SECONDS is a failure in itself."""
    started = time.perf_counter()
    trusted = trusted_public_keys()
    try:
        stale = _stale_unsealed(timezone.now())
        if stale is not None:
            raise _Failure(stale, f"seq {stale} was never sealed into the chain although it is older than "
                                  f"{settings.AUDIT_SEAL_WINDOW_SECONDS} s: sealing has stalled or the row was "
                                  "slipped in")
        if seal_first:
            seal_pending(full=True, force_checkpoint=True)
        events = _consistent_read(lambda: _walk_chain(trusted))
    except _Failure as failure:
        return VerifyResult(False, 0, failure.seq, failure.message, time.perf_counter() - started)
    return VerifyResult(True, events, None, "", time.perf_counter() - started)


def _consistent_read(func):
    """Run `func` on one snapshot, so seals and checkpoints written meanwhile cannot look like tampering."""
    if connection.in_atomic_block:
        return func()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return func()
