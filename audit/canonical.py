"""The one definition of what the audit log's hashes and signatures cover. Standard library only.

audit.chain (the sealer and verify_audit) and scripts/verify_audit_export.py (offline, without Django: it loads
this file by path) both use it, so the hashed bytes are written down once. docs/audit.md describes the same
algorithm in prose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
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


def _encode(value: Any) -> bytes:
    if _c_encode is not None:
        return "".join(_c_encode(value, 0)).encode("ascii")
    return _encoder.encode(value).encode("ascii")  # pragma: no cover


def canonical_json(value: Any) -> str:
    """A JSON value in canonical form (keys sorted, compact, ASCII, no NaN): how an event's detail is stored, so the
    stored text is the very bytes its hash covers."""
    return _encode(value).decode("ascii")


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
                              agency_code: str, action: str, object_type: str, object_ref: str, detail: str | None,
                              request_id: str, client_ip: str | None, agencies: Any) -> bytes:
    """canonical_bytes for a row as a database returns it: the timestamp as a datetime or text, the detail as its
    stored text and the agencies as JSON text (or already decoded).

    The detail's stored text stands in the array as it is, byte for byte: the application stores it in canonical
    form (canonical_json), so for every event it wrote these are canonical_bytes of the decoded value; a text changed
    in any way (even to one that decodes to the same value) hashes differently. A NULL detail stands as null."""
    if type(at) is not str or len(at) != 27 or at[-1] != "Z":
        at = canonical_at(at)
    tail: list[Any] = [request_id, client_ip]
    if agencies != "[]":
        if type(agencies) is str:
            agencies = scan_json(agencies, 0)[0]
        if type(agencies) is not list:  # every event holds a list (its column's default is []): anything else is not
            raise ValueError("an event's agencies are not a list")  # what was sealed, and would hash as no agencies
        if agencies:
            tail.append(agencies)
    head = _encode([CANONICAL_VERSION, seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
                    object_ref])
    stored = b"null" if detail is None else detail.encode("utf-8")
    return b"%b,%b,%b" % (head[:-1], stored, _encode(tail)[1:])


# --- the same bytes from PostgreSQL's COPY ... TO STDOUT (text format) ----------------------------------------------
#
# verify_audit reads the chain as COPY text rows: one bytes object a row, no Python object a column. COPY writes each
# column as its type's text, with a backslash before a backslash, tab, newline, CR, backspace, form feed and vertical
# tab, and \N for NULL. An event column whose text is printable ASCII without a quote or a backslash is its own JSON
# string's body, and an integer column's text (int2/int4/int8) is its own JSON number, so the canonical form of a row
# whose columns are all like that is those columns in a template (copy_canonical). The caller checks that the
# integer columns are integers in the query; every other row is decoded column by column as the driver would decode
# it (copy_row) and goes through canonical_bytes_from_text. detail is its stored text, unescaped (any bytes: it
# stands in the array as it is); agencies, when it is a list of such plain strings as jsonb writes it (["a", "b"]),
# only loses the space after each comma; any other is decoded exactly.
#
# A row of the chain's walk: the seal's position, seq, prev_hash and hash, then the event's columns in the order
# canonical_bytes_from_text takes them, but for detail and agencies, which come last.
COPY_EVENT_COLUMNS = ("seq", "at", "actor_id", "actor_name", "agency_id", "agency_code", "action", "object_type",
                      "object_ref", "request_id", "client_ip", "detail", "agencies")
COPY_WALK_COLUMNS = ("position", "seq", "prev_hash", "hash", *COPY_EVENT_COLUMNS)
COPY_WALK_INTEGERS = frozenset({0, 1, 4, 6, 8})  # position, seq, and the event's seq, actor_id and agency_id
COPY_NULL = b"\\N"
# What may stand in a row's columns but detail and agencies for the template to apply: the tab between columns and
# printable ASCII but the quote and the backslash. A NULL's \N leaves its backslash, allowed where JSON has null.
_COPY_PLAIN = bytes([0x09, *range(0x20, 0x7F)]).translate(None, b'"\\')
_COPY_UNESCAPE = {b"\\\\": b"\\", b"\\b": b"\b", b"\\f": b"\f", b"\\n": b"\n", b"\\r": b"\r", b"\\t": b"\t",
                  b"\\v": b"\v"}
_COPY_ESCAPE = {value[0]: key for key, value in _COPY_UNESCAPE.items()}
_BACKSLASHES = (b"", b"\\", b"\\\\", b"\\\\\\")
_NULL_INT = {COPY_NULL: b"null"}
# A list of strings as jsonb writes it, each printable ASCII without a quote or a backslash (and the row's newline).
_PLAIN_STRINGS = re.compile(rb'\["[ !#-\[\]-~]*"(?:, "[ !#-\[\]-~]*")*\]\n').fullmatch
_HEAD = b'["' + CANONICAL_VERSION.encode("ascii") + b'",%b,"%b",%b,"%b",%b,"%b","%b","%b","%b",%b,"%b",'
# By client_ip (a string or null), then agencies (a plain list's strings, or any other's suffix).
_IP_LIST, _IP_OTHER = _HEAD + b'"%b",["%b"]]', _HEAD + b'"%b"%b]'
_NO_IP_LIST, _NO_IP_OTHER = _HEAD + b'null,["%b"]]', _HEAD + b'null%b]'


def _unescape(raw: bytes) -> bytes:
    """A COPY text column's bytes without COPY's escapes (not NULL)."""
    # Each escape is a backslash and one more byte, read left to right, as bytes.count and replace read: when every
    # backslash is half of an escaped backslash (a detail's JSON escapes, say), one replace undoes them all.
    if raw.count(b"\\") == 2 * raw.count(b"\\\\"):
        return raw.replace(b"\\\\", b"\\")
    out, index = bytearray(), 0
    while (found := raw.find(b"\\", index)) >= 0:
        escape = _COPY_UNESCAPE.get(raw[found:found + 2])
        if escape is None:  # COPY TO writes no other escape (\N is a whole column, handled by the callers)
            raise ValueError(f"unexpected escape in a COPY row: {raw[found:found + 4]!r}")
        out += raw[index:found] + escape
        index = found + 2
    return bytes(out + raw[index:])


def copy_text(raw: bytes) -> str | None:
    """One column of a COPY text row as the text the driver would have given (None for NULL)."""
    if raw == COPY_NULL:
        return None
    return (_unescape(raw) if b"\\" in raw else raw).decode("utf-8")


def copy_escape(text: str) -> bytes:
    """Text as COPY writes it (copy_text's inverse), to compare with a COPY column as it is."""
    raw = text.encode("utf-8")
    if any(byte in _COPY_ESCAPE for byte in raw):
        raw = b"".join(_COPY_ESCAPE.get(byte, bytes([byte])) for byte in raw)
    return raw


def copy_row(line: bytes) -> list[Any]:
    """A row of the walk (COPY_WALK_COLUMNS) as the driver gives it: text, int for the integer columns, None for
    NULL."""
    columns: list[Any] = [copy_text(raw) for raw in line.removesuffix(b"\n").split(b"\t")]
    for index in COPY_WALK_INTEGERS:
        if columns[index] is not None:
            columns[index] = int(columns[index])
    return columns


def _agencies_suffix(raw: bytes) -> bytes:
    """The agencies column (the row's last, with its newline) as the canonical array's optional last element, as
    canonical_bytes_from_text appends it: "," and its JSON, or nothing."""
    if not raw.endswith(b"\n"):
        raise ValueError("a COPY row ends with a newline")
    text = copy_text(raw[:-1])
    if text == "[]":
        return b""
    value = scan_json(text, 0)[0] if text is not None else None
    if type(value) is not list:
        raise ValueError("an event's agencies are not a list")  # as canonical_bytes_from_text refuses them
    return b"," + _encode(value) if value else b""


def copy_canonical(line: bytes) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes | None]:
    """A row of the walk (COPY_WALK_COLUMNS) as COPY gives it: (position, seq, prev_hash, hash, the event's seq, at,
    canonical form), all but the last as COPY's bytes. The canonical form is None for a row with a column that is
    not plain (or a NULL where JSON has no null): decode that row with copy_row for canonical_bytes_from_text."""
    head, detail, agencies = line.rsplit(b"\t", 2)
    (position, seal_seq, prev_hash, hash_, seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
     object_ref, request_id, client_ip) = head.split(b"\t")
    left = head.translate(None, _COPY_PLAIN)
    if left and not (left == b"\\" and client_ip == COPY_NULL):  # the one left may be client_ip's NULL, usually is
        # Only the backslashes of NULLs where JSON allows null (the integers and client_ip) may be left.
        if left != _BACKSLASHES[(actor_id == COPY_NULL) + (agency_id == COPY_NULL) + (client_ip == COPY_NULL)]:
            return position, seal_seq, prev_hash, hash_, seq, at, None
        actor_id, agency_id = _NULL_INT.get(actor_id, actor_id), _NULL_INT.get(agency_id, agency_id)
    if len(at) != 27 or at[26] != 90:  # 90: "Z"; canonical_bytes_from_text takes such an `at` as it is, too
        return position, seal_seq, prev_hash, hash_, seq, at, None
    if b"\\" in detail:  # an escape, or a NULL: null in the array, as canonical_bytes_from_text puts it
        detail = b"null" if detail == COPY_NULL else _unescape(detail)
    if _PLAIN_STRINGS(agencies):
        # No string holds a quote, so each '", "' between the brackets stands between two strings.
        strings = agencies[2:-3].replace(b'", "', b'","')
        if client_ip == COPY_NULL:
            canonical = _NO_IP_LIST % (seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
                                       object_ref, detail, request_id, strings)
        else:
            canonical = _IP_LIST % (seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
                                    object_ref, detail, request_id, client_ip, strings)
    elif client_ip == COPY_NULL:
        canonical = _NO_IP_OTHER % (seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
                                    object_ref, detail, request_id, _agencies_suffix(agencies))
    else:
        canonical = _IP_OTHER % (seq, at, actor_id, actor_name, agency_id, agency_code, action, object_type,
                                 object_ref, detail, request_id, client_ip, _agencies_suffix(agencies))
    return position, seal_seq, prev_hash, hash_, seq, at, canonical


def canonical_bytes_from_row(row: Sequence[Any]) -> bytes:
    """canonical_bytes_from_text for a row of the walk (COPY_WALK_COLUMNS) as the driver gives it."""
    return canonical_bytes_from_text(row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11], row[12],
                                     row[15], row[13], row[14], row[16])


def canonical_bytes_from_copy(line: bytes) -> bytes:
    """canonical_bytes_from_text for a row of the walk as COPY gives it: by the template where it applies, else
    column by column."""
    canonical = copy_canonical(line)[-1]
    return canonical_bytes_from_row(copy_row(line)) if canonical is None else canonical


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


def first_unheld(entries: list[dict], reached: int, held: set[tuple[int, str]]) -> dict | None:
    """The first witnessed checkpoint (`entries` in position order) at or before `reached` whose (position, hash)
    is not among the checkpoints `held` beside the chain: checkpoints deleted or rewritten. None if all are held."""
    for entry in entries:
        if entry["position"] > reached:
            return None
        if (entry["position"], entry["hash"]) not in held:
            return entry
    return None


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
