"""The hash chain over audit events: canonical form, sealing, signed checkpoints and verification.

Writers never wait for the chain: `record()` is a plain INSERT. The sealer (one at a time) later gives each
committed event the next `position` and a hash over its canonical form and the previous hash, and signs the
head in a checkpoint. `verify()` recomputes everything. The algorithm is documented in docs/audit.md, and
scripts/verify_audit_export.py repeats it offline; keep the three in step.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import hashlib
import itertools
import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import DataError, connection, transaction
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

from . import keys, witness
from .canonical import (
    CANONICAL_VERSION,
    CHECKPOINT_VERSION,
    CHECKPOINT_VERSION_1,
    COPY_EVENT_COLUMNS,
    COPY_WALK_INTEGERS,
    GENESIS_HASH,
    canonical_at,
    canonical_bytes,
    canonical_bytes_from_row,
    canonical_bytes_from_text,
    canonical_json,
    checkpoint_hash,
    checkpoint_message,
    copy_canonical,
    copy_escape,
    copy_row,
    copy_text,
    digests,
    first_disagreement,
    first_unheld,
    link_hash,
    verification_message,
    witnessed_digests,
)
from .models import AuditCheckpoint, AuditVerification

__all__ = ["CANONICAL_VERSION", "CHECKPOINT_VERSION", "CHECKPOINT_VERSION_1", "GENESIS_HASH", "canonical_at",
           "canonical_bytes", "checkpoint_hash", "checkpoint_message", "link_hash", "seal_pending", "verify"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

SEAL_LOCK_KEY = 0x5EA1_A0D17  # pg_advisory_xact_lock key: one sealer at a time
SEAL_BATCH = 20_000
FETCH_BATCH = 20_000


# --- reading events as canonical tuples -------------------------------------------------------------------------


def _event_columns(alias: str, order: Sequence[str] | None = None, *, walk: bool = False) -> str:
    """SELECT list giving (seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type, object_ref,
    detail text, request_id, client_ip, agencies text), or the same columns in `order` (names as those). On
    PostgreSQL the timestamp is formatted by the server (fast path); for the `walk`, a date BC (which to_char
    formats as the same date AD) gives NULL, which has no canonical form: the sealer seals what to_char gives (such
    a row can only be planted), and the walk then reports it."""
    columns = {name: f"{alias}.{name}" for name in ("seq", "at", "actor_id", "actor_name", "agency_id", "agency_code",
                                                     "action", "object_type", "object_ref", "detail", "request_id",
                                                     "client_ip", "agencies")}
    if connection.vendor == "postgresql":
        # Qualified: a schema listed before pg_catalog in search_path cannot answer for them (the walk pins it too).
        # The address is inet's own text (abbrev), netmask and all where it has one: host() would drop it.
        at = f"""pg_catalog.to_char({alias}.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        if walk:
            at = (f"CASE WHEN {alias}.at OPERATOR(pg_catalog.>=) '0001-01-01 00:00Z'::pg_catalog.timestamptz THEN "
                  f"{at} END")
        columns.update(at=at, detail=f"{alias}.detail::pg_catalog.text",
                       client_ip=f"pg_catalog.abbrev({alias}.client_ip)", agencies=f"{alias}.agencies::pg_catalog.text")
    return ", ".join(columns[name] for name in (order or columns))


def _canonical_from_row(row: Sequence[Any]) -> bytes:
    return canonical_bytes_from_text(*row[:13])


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


# --- sealing -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealResult:
    sealed: int
    position: int
    checkpoint: AuditCheckpoint | None
    checkpoint_due_in: float | None = None  # the head moved but signing waits this long (AUDIT_CHECKPOINT_SECONDS)


def _seal_lock(cursor: CursorWrapper) -> None:
    # On SQLite the IMMEDIATE transaction already holds the database's one write lock.
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])


def _seal_floor(cursor: CursorWrapper, now: dt.datetime) -> int:
    """Seqs at or below this are settled: they were below the high-water mark longer than any transaction may
    last (AUDIT_LATE_COMMIT_SECONDS). Scanning only above it keeps each run small on a huge table."""
    cutoff = now - dt.timedelta(seconds=settings.AUDIT_LATE_COMMIT_SECONDS)
    cursor.execute(
        "SELECT seq_high FROM audit_auditcheckpoint WHERE created_at < %s ORDER BY id DESC LIMIT 1", [cutoff]
    )
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _seal_batch(*, full: bool, force_checkpoint: bool) -> tuple[SealResult, list[dict]]:
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
        planted: tuple[int, int] | None = None
        for row in rows:
            position += 1
            digest = link_hash(prev_hash, _canonical_from_row(row))
            seqs.append(row[0])
            positions.append(position)
            prevs.append(prev_hash)
            hashes.append(digest)
            prev_hash = digest
            if planted is None and not _written_canonical(row[9]):
                planted = row[0], position
        _insert_seals(cursor, seqs, positions, prevs, hashes, now)
        if planted is not None:
            _alert_not_canonical(*planted)
        checkpoint, due_in, to_witness = _maybe_checkpoint(cursor, now, force=force_checkpoint)
    return SealResult(sealed=len(seqs), position=position, checkpoint=checkpoint, checkpoint_due_in=due_in), to_witness


def _written_canonical(detail: str | None) -> bool:
    """Whether a detail's stored text is the canonical form the application writes (audit.fields). Checked once, as
    each event is sealed (verification hashes the text without decoding it)."""
    try:
        return detail is not None and canonical_json(json.loads(detail)) == detail
    except ValueError:
        return False


def _alert_not_canonical(seq: int, position: int) -> None:
    """A row written around the application (its detail is not in the form the application stores): sealed as it
    is, so the chain goes on, and the auditors are told."""
    message = (f"The audit sealer sealed seq {seq} (position {position}) with a detail that is not in the canonical "
               "form the application writes: the row was written around the application. It is sealed as stored "
               "and verify_audit will hold it to that; find where it came from")
    logger.error("audit alert: %s", message)
    _alert(message, position)


def _insert_seals(cursor: CursorWrapper, seqs: list, positions: list, prevs: list, hashes: list,
                  now: dt.datetime) -> None:
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


def _witness_entry(row: Sequence[Any], after: int) -> dict:
    """A checkpoint row (as _checkpoint_rows gives it) as the witness stores it, with the digests of the positions
    it covers (after `after`, the checkpoint before it)."""
    _, position, head_seq, head_hash, seq_high, created_at, key_id, signature, prev_position, prev_hash = row
    with connection.cursor() as cursor:
        cursor.execute("SELECT hash FROM audit_auditseal WHERE position > %s AND position <= %s ORDER BY position",
                       [after, position])
        hashes = [h for (h,) in cursor.fetchall()]
    entry = {
        "position": position, "head_seq": head_seq, "head_hash": head_hash, "seq_high": seq_high,
        "created_at": canonical_at(created_at), "prev_position": prev_position, "prev_hash": prev_hash,
        "hash": checkpoint_hash(_message_of(row)), "key_id": key_id, "signature": signature,
    }
    if prev_hash and prev_position == after and len(hashes) == position - after:
        entry["digests"] = digests(hashes)
    return entry


def _maybe_checkpoint(cursor: CursorWrapper, now: dt.datetime, *,
                      force: bool) -> tuple[AuditCheckpoint | None, float | None, list[dict]]:
    """Sign the head when it moved, at most every AUDIT_CHECKPOINT_SECONDS unless forced, and only when the chain
    from the last witnessed checkpoint to the head recomputes and extends it. Returns the new checkpoint, how long
    until a deferred one is due, and what to append to the witness once the transaction commits."""
    cursor.execute("SELECT position, seq, hash FROM audit_auditseal ORDER BY position DESC LIMIT 1")
    head = cursor.fetchone()
    if head is None:
        return None, None, []
    last = _last_checkpoint_row()
    if last is not None:
        if last[1] >= head[0]:
            return None, None, []
        age = (now - _aware(last[5])).total_seconds()
        if not force and age < settings.AUDIT_CHECKPOINT_SECONDS:
            return None, settings.AUDIT_CHECKPOINT_SECONDS - age, []
    try:
        failure, catch_up = _extends_witness(head)
    except witness.WitnessError as error:  # a damaged witness: refuse to sign, and say so, rather than crash
        failure, catch_up = _Failure(None, str(error)), []
    if failure is not None:
        _raise_alert(failure)
        return None, None, []
    cursor.execute("SELECT MAX(seq) FROM audit_auditseal WHERE position > %s", [last[1] if last else 0])
    seq_high = max(int(cursor.fetchone()[0]), last[4] if last else 0)
    prev_position, prev_hash = (last[1], checkpoint_hash(_message_of(last))) if last else (0, GENESIS_HASH)
    key = keys.signing_key()
    message = checkpoint_message(
        position=head[0], head_seq=head[1], head_hash=head[2], seq_high=seq_high, created_at=canonical_at(now),
        prev_position=prev_position, prev_hash=prev_hash,
    )
    checkpoint = AuditCheckpoint.objects.create(
        position=head[0], head_seq=head[1], head_hash=head[2], seq_high=seq_high, created_at=now,
        key_id=key.key_id, signature=key.sign(message), prev_position=prev_position, prev_hash=prev_hash,
        hash=checkpoint_hash(message),
    )
    logger.info(
        "audit checkpoint",
        extra={"position": head[0], "head_hash": head[2], "key_id": key.key_id, "signature": checkpoint.signature,
               "checkpoint_hash": checkpoint.hash, "prev_checkpoint_hash": prev_hash},
    )
    entry = _witness_entry((checkpoint.pk, checkpoint.position, checkpoint.head_seq, checkpoint.head_hash,
                            checkpoint.seq_high, checkpoint.created_at, checkpoint.key_id, checkpoint.signature,
                            checkpoint.prev_position, checkpoint.prev_hash), prev_position)
    return checkpoint, None, [*catch_up, entry]


def _aware(value: dt.datetime | str) -> dt.datetime:
    """A timestamp from a raw cursor: SQLite gives naive UTC (or text), PostgreSQL an aware datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _last_checkpoint_row() -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_auditcheckpoint "  # noqa: S608
                       "ORDER BY position DESC, id DESC LIMIT 1")
        return cursor.fetchone()


def _extends_witness(head: Sequence[Any]) -> tuple[_Failure | None, list[dict]]:
    """Recompute the chain from the last witnessed checkpoint to the head, rather than trust the table.

    Returns a failure when the head does not extend it (the database was rewritten, its checkpoints deleted, or it
    was restored from an older backup), and the database's checkpoints after it that the witness lacks (a process
    that died between its commit and its append): they are checked here, then appended."""
    anchor = witness.latest()
    trusted = trusted_public_keys()
    start = anchor["position"] if anchor else 0
    rows = _checkpoint_rows(start)
    heads, failures, _ = _check_checkpoints(rows, trusted, [anchor] if anchor else [], anchor)
    anomalies: list[_Failure] = []
    walked = _walk_range(start=start + 1, stop=None, prev=anchor["head_hash"] if anchor else GENESIS_HASH,
                         heads=heads, segment_from=start + 1, anomalies=anomalies)
    if walked.failure is not None:
        failures.append(walked.failure)
    if failures:
        failure = _first_failure(failures)
        if not failure.exact:
            failure = _first_failure([_pinpoint(failure), *(f for f in failures if f.exact)])
        return failure, []
    for anomaly in anomalies:
        # The chain is intact, so it is signed (it now records the planted row for good: verify_audit names it at
        # every run); stopping here would leave every honest event after it unsigned for ever.
        _raise_alert(anomaly, refused=False)
    catch_up, after = [], start
    for row in rows:
        if row[1] > start:
            catch_up.append(_witness_entry(row, after))
            after = row[1]
    return None, catch_up


def _raise_alert(failure: _Failure, *, refused: bool = True) -> None:
    """The sealer will not sign (`refused`), or signed a chain holding a planted row: log it, show auditors a banner,
    and email them (once an hour for the same cause)."""
    from .models import AuditAlert

    if refused:
        message = f"{AuditAlert.REFUSED_PREFIX} the chain's head: {failure.message}"
    else:
        message = (f"The audit sealer found a planted row at position {failure.position}: {failure.message}. The "
                   "chain is intact and was signed, so later events are protected; verify_audit reports this row "
                   "until it is explained")
    logger.error("audit alert: %s (first bad position %s)", message, failure.position)
    _alert(message, failure.position)


def _alert(message: str, position: int | None = None) -> None:
    """A banner for auditors and an email to them, once an hour for the same message (the caller logs it)."""
    from .models import AuditAlert

    recent = timezone.now() - dt.timedelta(hours=1)
    if AuditAlert.objects.filter(message=message, raised_at__gte=recent).exists():
        return
    alert = AuditAlert.objects.create(position=position, message=message)

    def notify() -> None:
        from .tasks import notify_alert

        notify_alert.delay(alert.pk)

    transaction.on_commit(notify)


def seal_pending(*, full: bool = False, force_checkpoint: bool = False) -> SealResult:
    """Seal every committed, unsealed event in seq order, then sign the head. Safe to call from anywhere.

    `full` looks below the settled floor too (verify does); `force_checkpoint` signs the head even if the last
    checkpoint is recent. Every checkpoint is appended to the witness after its transaction commits, under the
    witness's lock, so processes sharing the witness sign and append one at a time.
    """
    total, result = 0, SealResult(0, 0, None)
    with witness.sealer_lock():
        while True:
            result, to_witness = _seal_batch(full=full, force_checkpoint=force_checkpoint)
            for entry in to_witness:
                witness.append(entry)
            total += result.sealed
            if result.sealed < SEAL_BATCH:
                return SealResult(sealed=total, position=result.position, checkpoint=result.checkpoint,
                                  checkpoint_due_in=result.checkpoint_due_in)


# The embedded default has no beat to sign a quiet tail: a timer in the process that sealed it does.
_deferred_lock = threading.Lock()
_deferred: threading.Timer | None = None


def schedule_deferred_checkpoint(delay: float) -> None:
    """Sign the head once it is due, even if nothing else is written meanwhile (one timer per process)."""
    global _deferred
    with _deferred_lock:
        if _deferred is not None:
            return
        _deferred = threading.Timer(max(0.0, delay) + 0.05, _run_deferred_checkpoint)
        _deferred.daemon = True
        _deferred.start()


def cancel_deferred_checkpoint() -> None:
    """Cancel this process's signing timer and its sealing backstop (below), and wait for one already running (which
    may start the other) to finish."""
    global _deferred, _backstop, _backstop_next
    for _ in range(3):
        with _deferred_lock:
            timers = [t for t in (_deferred, _backstop) if t is not None]
            _deferred = _backstop = _backstop_next = None
        if not timers:
            return
        for timer in timers:
            timer.cancel()
            if timer.is_alive() and timer is not threading.current_thread():
                timer.join(timeout=10)


# With a broker, beat's `audit.seal` seals and signs. Its schedule lives in django_celery_beat's tables, which the
# runtime role can write (it must, for the admin's schedules), so one UPDATE could switch sealing off. A process that
# writes events therefore checks, a few seconds later, that its newest event was sealed; if it was not, beat is not
# sealing, and this process seals and signs itself (within AUDIT_UNSIGNED_TAIL_SECONDS) and raises the alert.
_backstop: threading.Timer | None = None
_backstop_next: tuple[int, float] | None = None  # the first event written while a check was pending, and when


def backstop_delay() -> float:
    """How long after a commit a writer checks that beat sealed its event: early enough that sealing and signing
    it here still fits AUDIT_UNSIGNED_TAIL_SECONDS, late enough that beat (every AUDIT_SEAL_INTERVAL_SECONDS) has."""
    return max(0.5, settings.AUDIT_UNSIGNED_TAIL_SECONDS - settings.AUDIT_CHECKPOINT_SECONDS - 1.0)


def watch_sealing(seq: int) -> None:
    """After a commit that wrote event `seq` (with a broker): make sure something seals it in time."""
    global _backstop, _backstop_next
    with _deferred_lock:
        if _backstop is not None:
            if _backstop_next is None:
                _backstop_next = (seq, time.monotonic())
            return
        _start_backstop(seq, backstop_delay())


def _start_backstop(seq: int, delay: float) -> None:
    global _backstop
    _backstop = threading.Timer(max(0.0, delay), _run_backstop, args=(seq,))
    _backstop.daemon = True
    _backstop.start()


def _run_backstop(seq: int) -> None:
    global _backstop, _backstop_next
    from django.db import connections

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM audit_auditseal WHERE seq = %s", [seq])
            if cursor.fetchone() is not None:
                return  # beat is sealing
        message = (f"Nothing sealed a new audit event within {backstop_delay():.0f} s of its commit: the beat task "
                   "audit.seal is not running, or its schedule was disabled or changed in the database. The "
                   "processes that write events are sealing and signing instead; restore the schedule")
        logger.error("audit alert: %s (seq %s)", message, seq)
        _alert(message)
        seal_and_keep_signing()
    except Exception:  # the next check, beat or verify_audit seals it; the failure is in the log
        logger.exception("the audit sealing backstop failed")
    finally:
        connections.close_all()
        with _deferred_lock:  # one check at a time: the next starts when this one is done
            if _backstop is threading.current_thread():
                _backstop, following = None, _backstop_next
                _backstop_next = None
                if following is not None:  # as long after its event as this one was
                    _start_backstop(following[0], backstop_delay() - (time.monotonic() - following[1]))


def seal_and_keep_signing() -> None:
    """Seal what is pending and, with no beat to come back, sign the tail when it is due even if nothing else is
    written (AUDIT_UNSIGNED_TAIL_SECONDS)."""
    result = seal_pending()
    if result.checkpoint_due_in is not None:
        schedule_deferred_checkpoint(result.checkpoint_due_in)


def _run_deferred_checkpoint() -> None:
    global _deferred
    with _deferred_lock:
        _deferred = None
    from django.db import connections

    try:
        seal_and_keep_signing()
    except Exception:  # the next write, beat or verify_audit signs it; the failure is in the log
        logger.exception("signing the audit log's tail failed")
    finally:
        connections.close_all()


@atexit.register
def _sign_before_exit() -> None:
    """A command that wrote events and exits before its timer fires signs its tail first."""
    with _deferred_lock:
        pending = _deferred is not None
    if pending:
        cancel_deferred_checkpoint()
        try:
            seal_pending(force_checkpoint=True)
        except Exception:  # noqa: S110 - the process is exiting; beat or the next write signs it
            logger.exception("signing the audit log's tail at exit failed")


# --- verification ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    message: str = ""
    seconds: float = 0.0
    first_bad_position: int | None = None
    kind: str = "full"
    from_position: int = 1
    verified_position: int | None = None

    @property
    def summary(self) -> str:
        if self.ok:
            return f"OK {self.events} events"
        where = f" (position {self.first_bad_position})" if self.first_bad_position is not None else ""
        return f"FAILED at seq {self.first_bad_seq}{where}: {self.message}"


class _Failure(Exception):
    """What failed, where. `exact` is False when `position` only starts the range the fault lies in (a signed head
    or witnessed checkpoint that no longer matches): _pinpoint then names the first position that disagrees."""

    def __init__(self, seq: int | None, message: str, position: int | None = None, exact: bool = True) -> None:
        super().__init__(message)
        self.seq, self.message, self.position, self.exact = seq, message, position, exact

    def __reduce__(self) -> tuple[type[_Failure], tuple[Any, ...]]:  # travels back from a range process
        return (_Failure, (self.seq, self.message, self.position, self.exact))


def _first_failure(failures: list[_Failure]) -> _Failure:
    return min(failures, key=lambda f: (f.position is None, f.position or 0))


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """The current key, plus any retired public keys (AUDIT_RETIRED_PUBLIC_KEYS, base64 raw) after a rotation."""
    current = keys.signing_key()
    trusted = {current.key_id: current.public}
    for encoded in getattr(settings, "AUDIT_RETIRED_PUBLIC_KEYS", []):
        raw = base64.b64decode(encoded)
        trusted[keys.key_id_for(raw)] = Ed25519PublicKey.from_public_bytes(raw)
    return trusted


_CHECKPOINT_COLUMNS = ("id, position, head_seq, head_hash, seq_high, created_at, key_id, signature, prev_position, "
                       "prev_hash")


def _checkpoint_rows(position_from: int = 0) -> list[tuple]:
    """Checkpoints at or after a position, in chain order (small next to the events: one per few seconds)."""
    return list(_stream(f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_auditcheckpoint "  # noqa: S608
                        "WHERE position >= %s ORDER BY position, id", [position_from]))


def _message_of(cp: Sequence[Any]) -> bytes:
    _, position, head_seq, head_hash, seq_high, created_at, _, _, prev_position, prev_hash = cp
    return checkpoint_message(position=position, head_seq=head_seq, head_hash=head_hash, seq_high=seq_high,
                              created_at=canonical_at(created_at), prev_position=prev_position, prev_hash=prev_hash)


def _check_signature(cp: Sequence[Any], trusted: dict[str, Ed25519PublicKey]) -> bool:
    public = trusted.get(cp[6])
    if public is None:
        return False
    try:
        public.verify(bytes.fromhex(cp[7]), _message_of(cp))
    except (InvalidSignature, ValueError):
        return False
    return True


def _entry_row(entry: dict) -> tuple:
    """A witnessed checkpoint as a checkpoint row."""
    return (None, entry["position"], entry["head_seq"], entry["head_hash"], entry["seq_high"], entry["created_at"],
            entry["key_id"], entry["signature"], entry["prev_position"], entry["prev_hash"])


def _check_checkpoints(rows: list[tuple], trusted: dict[str, Ed25519PublicKey], witnessed: list[dict],
                       anchor: dict | None) -> tuple[list[tuple], list[_Failure], int | None]:
    """Check the database's checkpoints from `anchor` (a witnessed checkpoint, or None: from the start): each is
    signed by a trusted key and covers the one before it; and every witnessed checkpoint is among them.

    Returns the heads the event chain must meet ((position, head_seq, head_hash) in order), the failures found, and
    the position of the last witnessed checkpoint that the database still holds."""
    failures: list[_Failure] = []
    heads: list[tuple] = []
    hashes: dict[int, str] = {}
    prev = (anchor["position"], anchor["hash"]) if anchor else (0, GENESIS_HASH)
    chained = bool(anchor and anchor["prev_hash"])
    anchored = anchor is None
    for row in rows:
        digest = checkpoint_hash(_message_of(row))
        position = row[1]
        if anchor is not None and position == anchor["position"]:
            if digest != anchor["hash"]:
                failures.append(_Failure(row[2], f"the database's checkpoint at position {position} is not the one "
                                                 "the witness holds", position, exact=False))
                break
            anchored = True
            continue
        if not anchored and anchor is not None:
            failures.append(_Failure(anchor["head_seq"], "the database no longer holds the checkpoint witnessed at "
                                                         f"position {anchor['position']}", anchor["position"],
                                     exact=False))
            break
        if not _check_signature(row, trusted):
            failures.append(_Failure(row[2], f"checkpoint {row[0]} at position {position} is not signed by a "
                                             "trusted key", position))
            break
        if row[9]:
            if (row[8], row[9]) != prev:
                failures.append(_Failure(None, f"the checkpoint at position {position} does not follow the "
                                               f"checkpoint before it (position {prev[0]}): checkpoints were deleted "
                                               "or rewritten", prev[0] + 1, exact=False))
                break
            chained = True
        elif chained:
            failures.append(_Failure(row[2], f"the checkpoint at position {position} does not cover the one before "
                                             "it", prev[0] + 1, exact=False))
            break
        heads.append((position, row[2], row[3]))
        hashes[position] = digest
        prev = (position, digest)
    if not anchored and not failures and anchor is not None:
        failures.append(_Failure(anchor["head_seq"], "the database no longer holds the checkpoint witnessed at "
                                                     f"position {anchor['position']}: it was rewritten or restored "
                                                     "from an older backup", anchor["position"], exact=False))
    agreed = anchor["position"] if anchor else None
    for entry in witnessed:
        if anchor is not None and entry["position"] <= anchor["position"]:
            continue
        if not _check_signature(_entry_row(entry), trusted) or checkpoint_hash(
                _message_of(_entry_row(entry))) != entry["hash"]:
            failures.append(_Failure(entry["head_seq"], f"the witness's checkpoint at position {entry['position']} "
                                                        "is not signed by a trusted key", entry["position"]))
            break
        if hashes.get(entry["position"]) != entry["hash"]:
            first = (agreed or 0) + 1
            failures.append(_Failure(
                None, f"the database does not hold the checkpoint witnessed at position {entry['position']} (signed "
                      f"{entry['created_at']}): the chain from position {first} on was rewritten, checkpoints were "
                      "deleted, or the database was restored from an older backup", first, exact=False))
            break
        agreed = entry["position"]
    return heads, failures, agreed


@dataclass
class _Range:
    count: int = 0
    first_prev: str | None = None
    last_position: int = 0
    last_hash: str | None = None
    last_seq: int | None = None
    failure: _Failure | None = None


def _walk_range(*, start: int, stop: int | None, prev: str | None, heads: list[tuple],
                segment_from: int, anomalies: list | None = None) -> _Range:
    """Recompute the chain from position `start` to `stop` (None: the end) against the stored seals and `heads`.

    `prev` is the hash before `start`; None takes the first row's stored prev_hash, which the caller checks against
    the range before (the seam). A failure at a signed head names the first position after the head before it,
    `segment_from` for the first head of the range. With `anomalies` (the sealer), a row dated in the future or long
    before the rows ahead of it is added there and the walk goes on: its content is intact and chained, and refusing
    to sign would stall signing for every honest event after it."""
    for order in ("seq", "position"):
        out = _Range(last_position=start - 1)
        try:
            _walk(out, start, stop, prev, iter(heads), segment_from, order, anomalies)
        except _Failure as failure:
            out.failure = failure
        except _Scattered:  # positions far from seq order (rewritten?): read in position order instead
            continue
        return out
    raise AssertionError("unreachable")  # pragma: no cover


REORDER_LIMIT = 50_000  # rows held while reading in seq order, waiting for an earlier position


class _Scattered(Exception):
    """Positions are too far from seq order to put back in order in memory."""


def walk_query(start: int = 1, stop: int | None = None, order: str = "seq") -> tuple[str, list[Any]]:
    """The rows the walk reads for positions `start` to `stop`: (position, seq, prev_hash, hash, then the event's
    columns in COPY_EVENT_COLUMNS order, NULL where the event row is gone). bench.verify reads the same query."""
    where = "s.position >= %s" + (" AND s.position <= %s" if stop is not None else "")
    params: list[Any] = [start] if stop is None else [start, stop]
    join = "e.seq = s.seq"
    if start > 1 or stop is not None:
        # A range of the chain: bound the events' seqs too, so PostgreSQL reads only that part of the events'
        # primary key instead of joining the whole table (an incremental run must cost the new events only).
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN(s.seq), MAX(s.seq) FROM audit_auditseal s WHERE {where}", params)  # noqa: S608
            low, high = cursor.fetchone()
        if low is not None:
            join += " AND e.seq BETWEEN %s AND %s"
            where += " AND s.seq BETWEEN %s AND %s"
            params = [low, high, *params, low, high]
    sql = (
        f"SELECT s.position, s.seq, s.prev_hash, s.hash, {_event_columns('e', COPY_EVENT_COLUMNS, walk=True)} "  # noqa: S608
        f"FROM audit_auditseal s LEFT JOIN audit_auditevent e ON {join} WHERE {where} ORDER BY s.{order}"
    )
    return sql, params


def _in_position_order(batches: Iterator[list], start: int) -> Iterator[list]:
    """Batches of rows read in seq order, handed on in position order. The sealer gives positions in seq order,
    except for an event whose transaction committed late: hold the few rows that come early until the one before
    them arrives. Rows left over (a position missing) follow in position order, so the walk reports the jump."""
    held: dict[int, Sequence[Any]] = {}
    expected = start
    for batch in batches:
        if not held and [row[0] for row in batch] == list(range(expected, expected + len(batch))):
            expected += len(batch)  # the usual case: every position in turn
            yield batch
            continue
        ordered = []
        for row in batch:
            position = row[0]
            if position == expected:
                ordered.append(row)
                expected += 1
                while held:
                    row = held.pop(expected, None)
                    if row is None:
                        break
                    ordered.append(row)
                    expected += 1
            elif position < expected or position in held:  # impossible with unique positions; the walk reports it
                ordered.append(row)
            else:
                held[position] = row
                if len(held) > REORDER_LIMIT:
                    raise _Scattered
        yield ordered
    yield [held[position] for position in sorted(held)]


def _stream_batches(sql: str, params: Sequence[Any]) -> Iterator[list]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH_BATCH):
            yield rows
    finally:
        cursor.close()


def _walk(out: _Range, start: int, stop: int | None, prev: str | None, heads: Iterator[tuple],
          segment_from: int, order: str = "seq", anomalies: list | None = None) -> None:
    cp = next(heads, None)
    while cp is not None and cp[0] < start:
        cp = next(heads, None)
    sql, params = walk_query(start, stop, order)
    if connection.vendor == "postgresql":
        _walk_copy(out, sql, params, start, stop, prev, heads, cp, segment_from, order == "seq", anomalies)
        return
    rows = _stream_batches(sql, params)
    _walk_rows(out, _in_position_order(rows, start) if order == "seq" else rows, start, stop, prev, heads, cp,
               segment_from, anomalies)


def _walk_rows(out: _Range, batches: Iterator[list], start: int, stop: int | None, prev: str | None,
               heads: Iterator[tuple], cp: tuple | None, segment_from: int, anomalies: list | None = None) -> None:
    """The walk over rows as the driver gives them (SQLite; _copy_walker is the same walk over PostgreSQL's COPY)."""
    grace = dt.timedelta(seconds=settings.AUDIT_LATE_COMMIT_SECONDS)
    expected, latest_at = start, ""
    # A row dated beyond now (plus the insert guard's skew) is itself the fault: blame it, not the real events after it.
    future = canonical_at(timezone.now() + FUTURE_SKEW)
    segment_start = segment_from
    last_seq: int | None = None
    for row in itertools.chain.from_iterable(batches):
        (position, seq, stored_prev, stored_hash,
         e_seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type, object_ref, request_id,
         client_ip, detail, agencies) = row
        if position != expected:
            raise _jump(expected, position, seq)
        if prev is None:
            prev = out.first_prev = stored_prev
        if e_seq is None:
            raise _deleted(seq, position)
        if stored_prev != prev:
            raise _unlinked(seq, position)
        canonical = canonical_bytes_from_text(e_seq, at, actor_id, actor_name, agency_id, agency_code, action,
                                              object_type, object_ref, detail, request_id, client_ip, agencies)
        if type(at) is not str or at[-1:] != "Z":  # SQLite gives its stored text
            at = canonical_at(at)
        if hashlib.sha256(prev.encode("ascii") + canonical).hexdigest() != stored_hash:
            raise _changed(seq, position)
        if at > future:
            _dated(_future(seq, at, position), anomalies)
        elif at < latest_at:
            if dt.datetime.fromisoformat(latest_at) - dt.datetime.fromisoformat(at) > grace:
                _dated(_slipped(seq, at, position), anomalies)
        else:
            latest_at = at
        while cp is not None and cp[0] <= position:
            if cp[0] < position or cp[1] != seq or cp[2] != stored_hash:
                raise _head_mismatch(cp, segment_start)
            segment_start = position + 1
            cp = next(heads, None)
        prev, last_seq, expected = stored_hash, seq, expected + 1
        out.count += 1
        out.last_position, out.last_hash, out.last_seq = position, stored_hash, seq
    if stop is None and cp is not None:
        raise _ends_early(cp, expected, last_seq)


# What the walk reports, the same whichever way it reads the rows.
def _jump(expected: int, position: int, seq: Any) -> _Failure:
    return _Failure(seq, f"the chain jumps from position {expected - 1} to {position}: events were removed before "
                         f"seq {seq}", expected)


def _deleted(seq: Any, position: int) -> _Failure:
    return _Failure(seq, f"event seq {seq} is sealed in the chain but has been deleted", position)


def _unlinked(seq: Any, position: int) -> _Failure:
    return _Failure(seq, f"seq {seq} does not follow the event before it in the chain: rows were removed, inserted "
                         "or reordered", position)


def _changed(seq: Any, position: int) -> _Failure:
    return _Failure(seq, f"seq {seq} has been changed since it was sealed", position)


def _future(seq: Any, at: str, position: int) -> _Failure:
    return _Failure(seq, f"seq {seq} is dated {at}, in the future: the row was planted", position)


def _slipped(seq: Any, at: str, position: int) -> _Failure:
    return _Failure(seq, f"seq {seq} is dated {at}, long before the events sealed ahead of it: a row slipped into "
                         "the past", position)


def _dated(failure: _Failure, anomalies: list | None) -> None:
    """A row dated in the future or long in the past: the walk's failure, or (for the sealer) an anomaly noted and
    walked past (a future-dated row does not set the pace either: the honest events after it are not "past")."""
    if anomalies is None:
        raise failure
    anomalies.append(failure)


def _head_mismatch(cp: tuple, segment_start: int) -> _Failure:
    return _Failure(None, f"the signed checkpoint at position {cp[0]} does not match the chain: rows from position "
                          f"{segment_start} on were altered and re-hashed", segment_start, exact=False)


def _ends_early(cp: tuple, expected: int, last_seq: int | None) -> _Failure:
    # The removed events are gone; seqs only grow, so the first of them follows the last one left.
    missing = cp[1] if last_seq is None else min(last_seq + 1, cp[1])
    return _Failure(missing, f"the chain ends at position {expected - 1} (seq {last_seq}) but a signed checkpoint "
                             f"covers position {cp[0]} (seq {cp[1]}): events from position {expected} on were "
                             "removed from the end", expected)


# --- the walk over PostgreSQL's COPY ------------------------------------------------------------------------------

# The walk's columns as PostgreSQL must type them for copy_canonical: its integers are int2/int4/int8 (their text is
# the JSON number), every other column text or varchar. A table altered to other types fails the walk.
_INTEGER_TYPES = frozenset({20, 21, 23})  # int8, int2, int4 (pg_type oids)
_TEXT_TYPES = frozenset({25, 1043})  # text, varchar


# What the walk's casts and functions read from: the events' own columns as the migrations made them. A column
# retyped to text would still give text through the walk's casts (its result types look right), but holds anything:
# the walk decodes only the first JSON value of agencies, and an owner's function or type could answer the walk with
# what was sealed while the row holds something else. detail is text, hashed as it is stored.
_EVENT_COLUMN_TYPES = {"at": "timestamp with time zone", "client_ip": "inet", "detail": "text", "agencies": "jsonb"}
_AUDIT_TABLES = ("audit_auditevent", "audit_auditseal", "audit_auditcheckpoint")  # what verify reads


def _pin_catalog(cursor: CursorWrapper, start: int) -> str:
    """For the walk's transaction: PostgreSQL's own functions, operators and types before any schema the owner lists
    ahead of pg_catalog (ALTER DATABASE ... SET search_path), and the tables the walk reads must still be tables whose
    cast columns have the types they were sealed with; else the walk fails. Returns the search_path it replaced (a
    SET LOCAL outlives the walk's savepoint: the caller puts it back)."""
    cursor.execute("SELECT pg_catalog.current_setting('search_path')")
    search_path = cursor.fetchone()[0]
    cursor.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, ' || %s, true)", [search_path])
    # Row level security binds the application's role (which verifies) but not the owner who writes the policies: a
    # policy can tell the walk's query from the pages' and show each different rows, such as a forged copy of an
    # event kept in a table inheriting from the events (the primary key does not span inheritance). So the tables
    # must have neither.
    cursor.execute("SELECT c.relname, c.relkind, c.relrowsecurity, EXISTS (SELECT 1 FROM pg_inherits i WHERE "
                   "i.inhparent = c.oid) FROM pg_class c WHERE c.oid = ANY(ARRAY[%s, %s, %s]::regclass[])",
                   list(_AUDIT_TABLES))
    wrong = sorted(name for name, kind, secured, inherited in cursor.fetchall()
                   if kind != "r" or secured or inherited)
    cursor.execute("SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a WHERE a.attrelid = "
                   "'audit_auditevent'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY(%s)",
                   [list(_EVENT_COLUMN_TYPES)])
    types = dict(cursor.fetchall())
    wrong += [name for name, expected in _EVENT_COLUMN_TYPES.items() if types.get(name) != expected]
    if wrong:
        raise _Failure(None, f"the audit tables were altered: {', '.join(wrong)} no longer what the chain was sealed "
                             "from (a table of its own, without row level security or tables inheriting from it, or "
                             "a column of the type it was sealed with)", start)
    return search_path


class _CopySink:
    """What psycopg2's copy_expert writes each COPY row to: one call a row, straight into the walk."""

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self.write = write


def _walk_copy(out: _Range, sql: str, params: Sequence[Any], start: int, stop: int | None, prev: str | None,
               heads: Iterator[tuple], cp: tuple | None, segment_from: int, reorder: bool,
               anomalies: list | None) -> None:
    """The walk over `COPY (walk_query) TO STDOUT`: PostgreSQL streams the rows while this process hashes them (the
    server's work and this one's overlap with no thread), and no row becomes Python objects column by column."""
    walker = _copy_walker(out, start, stop, prev, heads, cp, segment_from, reorder, anomalies)
    next(walker)
    with transaction.atomic():  # a savepoint: a walk that stops mid-COPY leaves the transaction usable
        with connection.cursor() as cursor:
            # In seq order both primary keys are read in step (a merge join) with nothing to sort; PostgreSQL's own
            # parallel workers would each read the events' whole key again (the ranges already run in parallel).
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off")
            search_path = _pin_catalog(cursor, start)
            cursor.execute(f"{sql} LIMIT 0", params)
            described = cursor.description
            statement = cursor.mogrify(sql, params).decode()
        wrong = [column.name for i, column in enumerate(described)
                 if column.type_code not in (_INTEGER_TYPES if i in COPY_WALK_INTEGERS else _TEXT_TYPES)]
        if wrong:
            raise _Failure(None, f"the audit tables were altered: column(s) {', '.join(wrong)} are no longer of the "
                                 "type the chain was sealed with", start)
        raw = connection.connection
        copy = raw.cursor()
        try:
            copy.copy_expert(f"COPY ({statement}) TO STDOUT", _CopySink(walker.send))
        except BaseException:
            # The walk stopped (a failure): stop the server producing rows nobody reads, and take its error (or the
            # COPY's end, if it had finished) off the connection before the savepoint is rolled back.
            raw.cancel()
            try:
                copy.execute("SELECT 1")
            except Exception:  # noqa: S110 - the cancelled COPY's error, as expected
                pass
            raise
        finally:
            copy.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_catalog.set_config('search_path', %s, true)", [search_path])
    try:
        walker.send(None)
    except StopIteration:
        return
    raise AssertionError("the walk did not end")  # pragma: no cover


def _copy_walker(out: _Range, start: int, stop: int | None, prev: str | None, heads: Iterator[tuple],
                 cp: tuple | None, segment_from: int, reorder: bool,
                 anomalies: list | None) -> Generator[None, bytes | None, None]:
    """_walk_rows over COPY text rows (sent one at a time, then None), the same checks in the same order.

    A row is kept as COPY gives it: its hashes, seq and timestamp are compared as those bytes (COPY's escaping is
    one-to-one, so equal bytes are equal text), and its canonical form comes from copy_canonical, or, for a row
    that is not plain, from canonical_bytes_from_text over the row decoded as the driver would. Read in seq order
    (`reorder`), a row that comes before its position is held until the rows before it arrive (_in_position_order)."""
    grace = dt.timedelta(seconds=settings.AUDIT_LATE_COMMIT_SECONDS)
    future = canonical_at(timezone.now() + FUTURE_SKEW).encode("ascii")
    expected, latest_at, segment_start = start, b"", segment_from
    previous = None if prev is None else copy_escape(prev)
    first_prev: bytes | None = None
    last_seq: bytes | None = None
    cp = None if cp is None else (cp[0], b"%d" % cp[1], copy_escape(cp[2]))
    due = cp[0] if cp is not None else float("inf")
    held: dict[int, bytes] = {}
    waiting: list[bytes] = []  # held rows now due (or, at the end, every held row in position order)
    ending = False
    line: bytes | None
    sha256 = hashlib.sha256
    encode = copy_canonical
    try:
        while True:
            if waiting:
                line = waiting.pop()
            else:
                line = yield
                if line is None:  # the rows have ended
                    if not held:
                        break
                    ending, waiting = True, [held[p] for p in sorted(held, reverse=True)]
                    held.clear()
                    continue
            try:
                position_text, seq, stored_prev, stored_hash, _, at, canonical = encode(line)
            except ValueError:  # an agencies list beyond what JSON decodes here (an integer's digits): refused below
                position_text, seq, stored_prev, stored_hash = line.split(b"\t", 4)[:4]
                at, canonical = b"", None
            position = int(position_text)
            if position != expected:
                if reorder and not ending and position > expected and position not in held:
                    held[position] = line
                    if len(held) > REORDER_LIMIT:
                        raise _Scattered
                    continue
                raise _jump(expected, position, int(seq))
            if previous is None:
                previous = first_prev = stored_prev
            if canonical is None:  # not plain: column by column, as the driver would give them
                row = copy_row(line)
                if row[4] is None:
                    raise _deleted(int(seq), position)
                if stored_prev != previous:
                    raise _unlinked(int(seq), position)
                try:
                    canonical = canonical_bytes_from_row(row)
                    text = row[5] if type(row[5]) is str and row[5][-1:] == "Z" else canonical_at(row[5])
                except (ValueError, TypeError, AttributeError) as error:
                    # No canonical form (a NULL where the schema had none, a number JSON cannot carry): the sealer
                    # could not have hashed this row, so it is not the row sealed here.
                    raise _changed(int(seq), position) from error
                at = text.encode("utf-8")  # compared as bytes, like the others (UTF-8 keeps the order)
                if sha256(row[2].encode("ascii") + canonical).hexdigest() != row[3]:
                    raise _changed(int(seq), position)
            elif stored_prev != previous:
                raise _unlinked(int(seq), position)
            elif sha256(stored_prev + canonical).hexdigest().encode() != stored_hash:
                raise _changed(int(seq), position)
            if at > future:
                _dated(_future(int(seq), at.decode(), position), anomalies)
            elif at < latest_at:
                if dt.datetime.fromisoformat(latest_at.decode()) - dt.datetime.fromisoformat(at.decode()) > grace:
                    _dated(_slipped(int(seq), at.decode(), position), anomalies)
            else:
                latest_at = at
            if position >= due:
                while cp is not None and cp[0] <= position:
                    if cp[0] < position or cp[1] != seq or cp[2] != stored_hash:
                        raise _head_mismatch(cp, segment_start)
                    segment_start = position + 1
                    cp = next(heads, None)
                    if cp is not None:
                        cp = (cp[0], b"%d" % cp[1], copy_escape(cp[2]))
                due = cp[0] if cp is not None else float("inf")
            previous, last_seq, expected = stored_hash, seq, expected + 1
            if held:
                line = held.pop(expected, None)
                if line is not None:
                    waiting.append(line)
        if stop is None and cp is not None:
            raise _ends_early((cp[0], int(cp[1])), expected, None if last_seq is None else int(last_seq))
    finally:
        out.count, out.last_position = expected - start, expected - 1
        out.first_prev = None if first_prev is None else copy_text(first_prev)
        if last_seq is not None:
            out.last_hash, out.last_seq = copy_text(previous), int(last_seq)  # type: ignore[arg-type]


FUTURE_SKEW = dt.timedelta(minutes=5)  # as the insert guard in audit/triggers.py


def _stale_unsealed(now: dt.datetime, seq_floor: int = 0) -> int | None:
    cutoff = now - dt.timedelta(seconds=settings.AUDIT_SEAL_WINDOW_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            # Both sides bounded by the floor, so an incremental run reads only the new part of either table.
            # And every seq <= 0 whatever the floor: the sealer never seals one, so it must not hide from this.
            "SELECT MIN(e.seq) FROM audit_auditevent e WHERE (e.seq > %s OR e.seq <= 0) AND e.at < %s AND NOT EXISTS "
            "(SELECT 1 FROM audit_auditseal s WHERE s.seq = e.seq AND (s.seq > %s OR s.seq <= 0))",
            [seq_floor, cutoff, seq_floor],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else None


def witness_verification(run: AuditVerification) -> dict[str, Any]:
    """Sign a verification run (an AuditVerification row, just written) and append it to the witness: what the
    incremental anchor and the auditors' panel trust, since the runtime role may insert rows in that table."""
    ran_at = canonical_at(run.ran_at)
    checkpoint = ""
    if run.verified_position is not None:
        held = [e for e in witness.read(position_from=run.verified_position) if e["position"] == run.verified_position]
        checkpoint = held[-1]["hash"] if held else ""
    entry = {"id": run.pk, "ran_at": ran_at, "ok": bool(run.ok), "kind": str(run.kind),
             "from_position": run.from_position, "events": run.events,
             "verified_position": run.verified_position if checkpoint else None, "checkpoint_hash": checkpoint,
             "first_bad_position": run.first_bad_position}
    key = keys.signing_key()
    entry.update(key_id=key.key_id, signature=key.sign(verification_message(entry)))
    witness.append_verification(entry)
    return entry


def witnessed_verifications(*, limit: int = 100) -> list[dict]:
    """The newest verification runs the witness holds, newest first, each signed by a trusted key (any other entry
    is left out: without the key it cannot have been written by a run)."""
    trusted = trusted_public_keys()
    found = []
    for entry in witness.verifications(limit=limit):
        public = trusted.get(str(entry.get("key_id", "")))
        try:
            if public is None:
                continue
            public.verify(bytes.fromhex(entry["signature"]), verification_message(entry))
        except (InvalidSignature, ValueError, KeyError, TypeError):
            continue
        found.append(entry)
    return found


def _incremental_anchor() -> dict | None:
    """The last checkpoint a successful run verified, as the witness records both (a signed verification entry and
    the witnessed checkpoint with that hash); else None and the run is a full one. Never a database row: the runtime
    role may insert verification rows, so a forged one must not move where the next run starts."""
    for run in witnessed_verifications():
        if not run["ok"] or not run["verified_position"]:
            continue
        position = run["verified_position"]
        return next((e for e in witness.read(position_from=position)
                     if e["position"] == position and e["hash"] == run["checkpoint_hash"]), None)
    return None


def verify(*, incremental: bool = False, processes: int | None = None, min_range: int = 100_000) -> VerifyResult:
    """Check the log (see _verify); a witness that cannot be read is a failure, reported, never a traceback. So is a
    database the walk cannot read at all (an owner can put values there that the driver refuses, such as a
    checkpoint dated BC): whatever stops verification is a failure, never an OK and never a crash."""
    started = time.perf_counter()
    try:
        return _verify(incremental=incremental, processes=processes, min_range=min_range)
    except witness.WitnessError as error:
        message = str(error)
    except Exception as error:
        logger.exception("the audit log could not be verified")
        message = f"the audit log could not be verified ({type(error).__name__}: {error})"
        if isinstance(error, ValueError | DataError):  # a value the driver refuses: not a connection gone away
            message += ": the database holds what the application never writes"
    return VerifyResult(False, 0, None, message, time.perf_counter() - started, None,
                        "incremental" if incremental else "full")


def _verify(*, incremental: bool, processes: int | None, min_range: int) -> VerifyResult:
    """Check the log, and only then seal pending events and sign the head.

    Full: every position, in `processes` parallel ranges over one snapshot on PostgreSQL when the chain is long
    enough (`min_range` positions a process). Incremental: from the last witnessed checkpoint a successful run
    verified. Either way the database's checkpoints must hold every witnessed checkpoint (from the anchor on) and
    extend the latest. An event unsealed for longer than AUDIT_SEAL_WINDOW_SECONDS is a failure in itself."""
    started = time.perf_counter()
    trusted = trusted_public_keys()
    anchor = _incremental_anchor() if incremental else None
    kind = "incremental" if anchor else "full"
    start = anchor["position"] + 1 if anchor else 1
    witnessed = witness.read(position_from=anchor["position"] if anchor else 0)  # before the snapshot is taken
    processes = settings.AUDIT_VERIFY_PROCESSES if processes is None else processes
    failures: list[_Failure] = []
    stale = _stale_unsealed(timezone.now(), seq_floor=anchor["seq_high"] if anchor else 0)
    if stale is not None:
        failures.append(_Failure(stale, f"seq {stale} was never sealed into the chain although it is older than "
                                        f"{settings.AUDIT_SEAL_WINDOW_SECONDS} s: sealing has stalled or the row was "
                                        "slipped in"))
    parallel = (connection.vendor == "postgresql" and processes > 1 and not connection.in_atomic_block
                and _positions_after(anchor["position"] if anchor else 0) >= 2 * min_range)  # else one walk is enough
    if parallel:
        events, agreed, found = _verify_parallel(trusted, witnessed, anchor, processes, min_range)
    else:
        events, agreed, found = _consistent_read(lambda: _verify_range(trusted, witnessed, anchor))
    failures.extend(found)
    seconds = time.perf_counter() - started
    if failures:
        failure = _first_failure(failures)
        if not failure.exact:
            failure = _first_failure([_pinpoint(failure), *(f for f in failures if f.exact)])
        seq = failure.seq if failure.seq is not None else _seq_at(failure.position)
        return VerifyResult(False, events, seq, failure.message, seconds, failure.position, kind, start)
    seal_pending(full=True, force_checkpoint=True)
    return VerifyResult(True, events, None, "", seconds, None, kind, start, agreed)


def _positions_after(position: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(position) FROM audit_auditseal")
        end = cursor.fetchone()[0] or 0
    return max(0, end - position)


def _seq_at(position: int | None) -> int | None:
    if position is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM audit_auditseal WHERE position = %s", [position])
        row = cursor.fetchone()
    return row[0] if row else None


def _verify_range(trusted: dict[str, Ed25519PublicKey], witnessed: list[dict], anchor: dict | None,
                  ) -> tuple[int, int | None, list[_Failure]]:
    start = anchor["position"] if anchor else 0
    heads, failures, agreed = _check_checkpoints(_checkpoint_rows(start), trusted, witnessed, anchor)
    walked = _walk_range(start=start + 1, stop=None, prev=anchor["head_hash"] if anchor else GENESIS_HASH,
                         heads=heads, segment_from=start + 1)
    if walked.failure is not None:
        failures.append(walked.failure)
    return walked.count, agreed, failures


_inherited: list[Any] = []


def _fresh_connection() -> None:
    """In a forked range process: give it a database connection object of its own. Whatever the parent's object
    held is kept referenced (never closed here, which would end the parent's session) and never used again."""
    from django.db import DEFAULT_DB_ALIAS, connections

    _inherited.append(connections[DEFAULT_DB_ALIAS])
    connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)


def _range_worker(job: tuple) -> _Range:
    """One range of a parallel verification, in a forked process, on the coordinator's exported snapshot."""
    snapshot, start, stop, prev, heads, segment_from = job
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            return _walk_range(start=start, stop=stop, prev=prev, heads=heads, segment_from=segment_from)
    except Exception as exc:  # reported as this range's failure: the run fails rather than hangs
        logger.exception("verifying positions %s to %s failed", start, stop)
        return _Range(failure=_Failure(None, f"positions {start} to {stop} could not be verified: {exc}", start))
    finally:
        connection.close()


def _verify_parallel(trusted: dict[str, Ed25519PublicKey], witnessed: list[dict], anchor: dict | None,
                     processes: int, min_range: int) -> tuple[int, int | None, list[_Failure]]:
    """Walk position ranges in parallel processes over one exported snapshot, then check the seams: each range's
    first prev_hash must be the hash the range before it ends with."""
    from django.db import connections

    connections.close_all()  # the forked processes must not share this process's connection
    context = multiprocessing.get_context("fork")
    with context.Pool(processes - 1, initializer=_fresh_connection) as pool, transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        base = anchor["position"] if anchor else 0
        heads, failures, agreed = _check_checkpoints(_checkpoint_rows(base), trusted, witnessed, anchor)
        cursor.execute("SELECT MAX(position) FROM audit_auditseal")
        end = cursor.fetchone()[0] or 0
        total = end - base
        count = max(1, min(processes, total // max(1, min_range)))
        bounds = [base + 1 + (total * k) // count for k in range(count)] + [end + 1]
        jobs = []
        for k in range(count):
            lo, hi = bounds[k], bounds[k + 1] - 1
            before = [h[0] for h in heads if h[0] < lo]
            jobs.append((snapshot, lo, None if k == count - 1 else hi,
                         (anchor["head_hash"] if anchor else GENESIS_HASH) if k == 0 else None,
                         [h for h in heads if h[0] >= lo and (k == count - 1 or h[0] <= hi)],
                         before[-1] + 1 if before else base + 1))
        pending = pool.map_async(_range_worker, jobs[1:]) if count > 1 else None
        first = _walk_range(start=jobs[0][1], stop=jobs[0][2], prev=jobs[0][3], heads=jobs[0][4],
                            segment_from=jobs[0][5])
        ranges = [first, *(pending.get() if pending else [])]
    for k, walked in enumerate(ranges):
        if walked.failure is not None:
            failures.append(walked.failure)
        if k and walked.first_prev is not None and walked.first_prev != ranges[k - 1].last_hash:
            lo = jobs[k][1]
            failures.append(_Failure(None, f"position {lo} does not follow the event before it in the chain: rows "
                                           "were removed, inserted or reordered", lo))
    return sum(r.count for r in ranges), agreed, failures


def _consistent_read(func: Callable[[], T]) -> T:
    """Run `func` on one snapshot, so seals and checkpoints written meanwhile cannot look like tampering."""
    if connection.in_atomic_block:
        return func()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return func()


# --- naming the first position that disagrees ---------------------------------------------------------------------


def _covering(entries: list[dict], position: int) -> dict:
    """The first witnessed checkpoint at or after `position` (StopIteration if none: the caller gives up)."""
    return next(e for e in entries if e["position"] >= position)


def _witness_anchor(entries: list[dict], before: int) -> dict | None:
    """The last witnessed checkpoint below `before` whose head the database's chain still holds (a restored or
    rewritten database agrees with the witness up to some checkpoint, then not): a binary search, a query a step."""
    candidates = [e for e in entries if e["position"] < before]
    with connection.cursor() as cursor:
        def agrees(entry: dict) -> bool:
            cursor.execute("SELECT hash FROM audit_auditseal WHERE position = %s", [entry["position"]])
            row = cursor.fetchone()
            return bool(row) and row[0] == entry["head_hash"]

        if not candidates:
            return None
        if agrees(candidates[-1]):
            return candidates[-1]
        low, high = 0, len(candidates) - 1  # candidates[high] disagrees; find the last that agrees below it
        found = None
        while low < high:
            middle = (low + high) // 2
            if agrees(candidates[middle]):
                found, low = candidates[middle], middle + 1
            else:
                high = middle
        return found


def _recomputed(start: int, stop: int, prev: str) -> Iterator[tuple[int, str]]:
    """(position, hash) from `start` to `stop`, each hash recomputed from the event's content and the hash before
    it, never read from the seals ('' where the event row is gone)."""
    sql = (f"SELECT s.position, {_event_columns('e')} FROM audit_auditseal s "  # noqa: S608
           "LEFT JOIN audit_auditevent e ON e.seq = s.seq WHERE s.position >= %s AND s.position <= %s "
           "ORDER BY s.position")
    for row in _stream(sql, [start, stop]):
        if row[1] is None:
            prev = ""
        else:
            prev = link_hash(prev or GENESIS_HASH, _canonical_from_row(row[1:]))
        yield row[0], prev


def _pinpoint(failure: _Failure) -> _Failure:
    """A failure that only bounds a range, narrowed to the first position that disagrees with the witness: the first
    event whose recomputed hash is not the one witnessed there, the first witnessed position the chain lacks, or
    the first witnessed checkpoint the database lacks. Unchanged where the witness cannot tell (checkpoints
    witnessed before digests were kept, or none)."""
    if failure.exact or failure.position is None:
        return failure
    try:
        found = _pinpointed(failure)
    except Exception:  # the failure stands as it is; narrowing it is a courtesy
        logger.exception("could not name the first position that disagrees with the witness")
        return failure
    return found or failure


def _pinpointed(failure: _Failure) -> _Failure | None:
    if failure.position is None:
        return None
    anchor = _witness_anchor(witness.read(), failure.position)
    after = anchor["position"] if anchor else 0
    entries = [e for e in witness.read(position_from=after, digests=True) if e["position"] > after]
    known = witnessed_digests(entries, after)
    reached = after
    if known:
        reached = max(known)
        found = first_disagreement(known, _recomputed(after + 1, reached, anchor["head_hash"] if anchor else
                                                      GENESIS_HASH), after)
        if found is not None:
            position, why = found
            cover = _covering(entries, position)
            seq = _seq_at(position)
            if why == "missing":
                return _Failure(seq, f"position {position} is missing: the witness holds the checkpoint at position "
                                     f"{cover['position']} (signed {cover['created_at']}) but the chain ends before "
                                     "it (events were removed from the end, or the database was restored from an "
                                     "older backup)", position)
            return _Failure(seq, f"position {position} (seq {seq}) is not the event the witness holds there (covered "
                                 f"by the checkpoint witnessed at position {cover['position']}, signed "
                                 f"{cover['created_at']}): an event was altered, removed, inserted or moved, and "
                                 "the chain re-hashed from there", position)
    with connection.cursor() as cursor:
        cursor.execute("SELECT position, hash FROM audit_auditcheckpoint WHERE position > %s", [after])
        held = set(cursor.fetchall())
    entry = first_unheld(entries, reached, held)
    if entry is not None:
        return _Failure(entry["head_seq"], f"the database does not hold the checkpoint witnessed at position "
                                           f"{entry['position']} (signed {entry['created_at']}): checkpoints were "
                                           "deleted or rewritten; the events up to it still agree with the witness",
                        entry["position"])
    return None
