"""The one definition of what the audit log's hashes and signatures cover. Standard library only.

audit.chain (the sealer and verify_audit) and scripts/verify_audit_export.py (offline, without Django: it loads
this file by path) both use it, so the hashed bytes are written down once. docs/audit.md describes the same
algorithm in prose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any, NoReturn

CANONICAL_VERSION = "sr-audit-v1"
CHECKPOINT_VERSION_1 = "sr-audit-checkpoint-v1"  # did not chain; still verified where older rows carry it
CHECKPOINT_VERSION = "sr-audit-checkpoint-v2"
GENESIS_HASH = "0" * 64
# A witnessed checkpoint also lists the first DIGEST_CHARS hex digits of the hash at every position it covers,
# so a verifier can name the first position that disagrees with what was witnessed (not only the range).
DIGEST_CHARS = 12

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
# The C scanner: json.loads without its Python wrapper (verify is hot). JSONDecoder.__init__ sets scan_once;
# typeshed leaves it out.
scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
try:
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]  # typeshed omits it
    from json.encoder import encode_basestring_ascii as _escape

    def _refuse(value: object) -> NoReturn:
        raise TypeError(f"{type(value).__name__} is not JSON")

    # The same output as _encoder (sorted keys, compact, ASCII, no NaN), minus its Python-level wrapper.
    _c_encode = _c_make_encoder(None, _refuse, _escape, None, ":", ",", True, False, False)
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    _c_encode = None


def canonical_at(value: dt.datetime | str) -> str:
    """UTC, ISO 8601, always six fractional digits: 2026-11-24T10:00:00.000000Z."""
    if isinstance(value, str):
        if len(value) == 27 and value[-1] == "Z":  # already canonical (PostgreSQL formats it in the query)
            return value
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encode(value: list) -> bytes:
    if _c_encode is not None:
        return "".join(_c_encode(value, 0)).encode("ascii")
    return _encoder.encode(value).encode("ascii")  # pragma: no cover


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
    return _encode(value)


def canonical_bytes_from_text(seq: int, at: Any, actor_id: int | None, actor_name: str, agency_id: int | None,
                              agency_code: str, action: str, object_type: str, object_ref: str, detail: Any,
                              request_id: str, client_ip: str | None, agencies: Any) -> bytes:
    """canonical_bytes for a row as a database returns it: the timestamp as a datetime or text, the detail and
    the agencies as JSON text (or already decoded). The verifier's hot loop calls this once per event."""
    if type(at) is not str or len(at) != 27 or at[-1] != "Z":
        at = canonical_at(at)
    if type(detail) is str:
        detail = {} if detail == "{}" else scan_json(detail, 0)[0]
    value = [CANONICAL_VERSION, seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
             object_ref, detail, request_id, client_ip]
    if agencies is not None and agencies != "[]":
        if type(agencies) is str:
            agencies = scan_json(agencies, 0)[0]
        if agencies:
            value.append(agencies)
    return _encode(value)


def link_hash(prev_hash: str, canonical: bytes) -> str:
    """hash = SHA-256(prev_hash as 64 ASCII hex digits || canonical bytes), as hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def checkpoint_message(*, position: int, head_seq: int, head_hash: str, seq_high: int, created_at: str,
                       prev_position: int = 0, prev_hash: str = "") -> bytes:
    """The signed bytes. A v2 checkpoint also covers the previous checkpoint's position and hash (GENESIS_HASH and
    0 for the first), so checkpoints chain; a v1 checkpoint (prev_hash '') did not."""
    if not prev_hash:
        return (f"{CHECKPOINT_VERSION_1}\n{position}\n{head_seq}\n{head_hash}\n{seq_high}\n"
                f"{created_at}\n").encode("ascii")
    return (f"{CHECKPOINT_VERSION}\n{position}\n{head_seq}\n{head_hash}\n{seq_high}\n{created_at}\n"
            f"{prev_position}\n{prev_hash}\n").encode("ascii")


VERIFICATION_VERSION = "sr-audit-verification-v1"


def verification_message(entry: dict) -> bytes:
    """The signed bytes of a verification run as the witness keeps it: which run (its row's id and time), its
    result, and the witnessed checkpoint it verified (position and hash; 0 and '' for none)."""
    return (f"{VERIFICATION_VERSION}\n{entry['id']}\n{entry['ran_at']}\n{1 if entry['ok'] else 0}\n{entry['kind']}\n"
            f"{entry['from_position']}\n{entry['events']}\n{entry['verified_position'] or 0}\n"
            f"{entry['checkpoint_hash'] or ''}\n{entry['first_bad_position'] or 0}\n").encode("ascii")


def checkpoint_hash(message: bytes) -> str:
    """A checkpoint's own hash, which the next checkpoint covers: SHA-256 of its signed message, as hex."""
    return hashlib.sha256(message).hexdigest()


def checkpoint_message_of(entry: dict) -> bytes:
    """checkpoint_message for a checkpoint as the API and the witness give it (a dict)."""
    return checkpoint_message(position=entry["position"], head_seq=entry["head_seq"], head_hash=entry["head_hash"],
                              seq_high=entry["seq_high"], created_at=entry["created_at"],
                              prev_position=entry.get("prev_position") or 0, prev_hash=entry.get("prev_hash") or "")


# --- naming the first position that disagrees with the witness ---------------------------------------------------


def digests(hashes: list[str]) -> str:
    """What a witnessed checkpoint lists for the positions it covers: each hash's first DIGEST_CHARS digits."""
    return "".join(digest[:DIGEST_CHARS] for digest in hashes)


def witnessed_digests(entries: list[dict], after: int) -> dict[int, str]:
    """Position -> witnessed digest for every position after `after` that the witnessed checkpoints list, as far
    as they run without a gap (an entry written before digests were kept ends the run)."""
    known: dict[int, str] = {}
    reached = after
    for entry in sorted(entries, key=lambda e: e["position"]):
        if entry["position"] <= reached:
            continue
        listed = entry.get("digests")
        first = entry.get("prev_position", 0) + 1
        if listed is None or first != reached + 1 or len(listed) != DIGEST_CHARS * (entry["position"] - reached):
            break
        for index in range(entry["position"] - reached):
            known[first + index] = listed[index * DIGEST_CHARS:(index + 1) * DIGEST_CHARS]
        reached = entry["position"]
    return known


def first_disagreement(known: dict[int, str], chain: Iterable[tuple[int, str]], after: int) -> tuple[int, str] | None:
    """Walk `chain` ((position, hash) pairs in position order from `after` + 1, the hashes recomputed from the
    events' content) against the witnessed digests. Returns the first position that disagrees and why: "changed"
    (what the chain holds there is not what was witnessed: an event altered, removed, inserted or moved) or
    "missing" (the chain stops before the witness does); None if every witnessed position agrees."""
    if not known:
        return None
    last = max(known)
    expected = after + 1
    for position, digest in chain:
        if position > last:
            return None
        if position != expected:
            return expected, "missing"
        if digest[:DIGEST_CHARS] != known.get(position, digest[:DIGEST_CHARS]):
            return position, "changed"
        expected += 1
    return (expected, "missing") if expected <= last else None
