"""The one way to write to the audit log."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils.module_loading import import_string

from common import context, prepared
from common.types import User

from .choices import AuditAction
from .models import AuditEvent

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
_ACTIONS = frozenset(AuditAction.values)


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    # Dates, UUIDs and Decimals become strings, so the stored JSON hashes the same on every database.
    # NaN and infinities are not JSON: refuse them here rather than fail in the database.
    text = json.dumps(detail, cls=DjangoJSONEncoder, allow_nan=False)
    value = json.loads(text)
    # The text has spaces the canonical form lacks, so within the limit here is within it there (no second dump).
    return value if len(text) <= settings.AUDIT_DETAIL_MAX_BYTES else bounded_detail(value)


# How a detail over AUDIT_DETAIL_MAX_BYTES is cut down: strings to this many characters and lists and objects to
# this many entries, trying each step in turn until it fits.
_CUTS = ((1000, 100), (200, 40), (60, 15), (20, 5))


def _size(value: Any) -> int:
    """Bytes of the value in the hashed canonical form (compact, ASCII with \\u escapes)."""
    return len(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True))


def _cut(value: Any, chars: int, items: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= chars else f"{value[:chars]}... [{len(value)} characters]"
    if isinstance(value, list):
        kept = [_cut(item, chars, items) for item in value[:items]]
        return kept if len(value) <= items else [*kept, f"... [{len(value)} items]"]
    if isinstance(value, dict):
        keys = sorted(value)
        kept_keys = {key[:chars]: _cut(value[key], chars, items) for key in keys[:items]}
        if len(keys) > items:
            kept_keys["..."] = f"[{len(keys)} keys]"
        return kept_keys
    return value


def bounded_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as stored: at most AUDIT_DETAIL_MAX_BYTES. A larger one keeps its shape with long strings, lists
    and objects cut (each cut says how long it was) and `_truncated` giving the original size; the log can never
    be cleaned, so no caller may make it store more than this per event."""
    limit = settings.AUDIT_DETAIL_MAX_BYTES
    size = _size(detail)
    if size <= limit:
        return detail
    for chars, items in _CUTS:
        cut = {**_cut(detail, chars, items), "_truncated": {"bytes": size}}
        if _size(cut) <= limit:
            return cut
    return {"_truncated": {"bytes": size, "keys": [key[:60] for key in sorted(detail)[:5]]}}


def _actor_agency_codes(actor: User) -> Iterable[str]:
    """The codes of the actor's agencies, from the function AUDIT_ACTOR_AGENCIES names (audit imports no app)."""
    global _actor_agencies
    if _actor_agencies is None:
        _actor_agencies = import_string(settings.AUDIT_ACTOR_AGENCIES)
    return _actor_agencies(actor)


_actor_agencies: Callable[[Any], Iterable[str]] | None = None


def record(
    *,
    action: AuditAction | str,
    object_type: str = "",
    object_ref: str = "",
    agency: Any = None,
    agencies: Iterable[str] = (),
    detail: dict[str, Any] | None = None,
    actor: User | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the service's transaction so the change and its event commit together.

    `actor` defaults to the user in the audit context; with none, the named system actor is recorded.
    `agency` is the agency the event is filed under (an Agency, or None); its code is frozen into the row.
    The event concerns `agency`, the actor's own agencies and `agencies` (codes): their auditors all see it.
    The INSERT is all a writer pays: the event is sealed into the hash chain after it commits (audit.chain).
    """
    action = str(action)
    if action not in _ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to audit.choices.AuditAction")
    ctx = context.current()
    if actor is None:
        actor = ctx.actor
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    actor_name = actor.get_username() if actor is not None else (ctx.system_actor or SYSTEM_ACTOR)
    concerned = set(agencies)
    if getattr(agency, "code", ""):
        concerned.add(agency.code)
    if actor is not None:
        concerned.update(_actor_agency_codes(actor))
    event = AuditEvent(
        action=action,
        actor=actor,
        actor_name=actor_name[:150],
        agency_id=getattr(agency, "pk", None),
        agency_code=(getattr(agency, "code", "") or "")[:64],
        object_type=str(object_type)[:64],
        object_ref=str(object_ref)[:128],
        detail=_json_safe(detail or {}),
        request_id=(ctx.request_id or "")[:64],
        client_ip=ctx.client_ip or None,
        agencies=sorted(code[:64] for code in concerned if code),
    )
    event = _insert(event)
    if settings.AUDIT_SEAL_ON_COMMIT:
        _seal_after_commit()
    else:
        _watch_after_commit(event.seq)
    return event


def events_index_add(*, codes: Iterable[str], object_type: str, object_ref: str, actions: Iterable[str]) -> int:
    """Let the auditors of `codes` also see the past `actions` events about one object (an agency that becomes a
    party to an agreement sees its history). Only the agencies index grows: the events themselves, and the
    agencies they named when written, never change. Returns the rows added."""
    from .models import AuditEventAgency

    seqs = list(AuditEvent.objects.filter(object_type=object_type, object_ref=object_ref, action__in=list(actions))
                .values_list("seq", flat=True))
    rows = [AuditEventAgency(agency_code=code, event_id=seq) for code in sorted(set(codes)) for seq in seqs]
    return len(AuditEventAgency.objects.bulk_create(rows, ignore_conflicts=True))


_INSERTS: dict[str, tuple[str, list[Any], dict[str, str]]] = {}


def _insert(event: AuditEvent) -> AuditEvent:
    """INSERT one event with a statement compiled once per database vendor, and on PostgreSQL prepared once per
    connection (common.prepared): every request writes one, and the ORM's save machinery cost more than the INSERT.
    Values go through each field's own get_db_prep_save, as save() would send them; there are no save signals for
    audit events (nothing may act on an event's row). Returns the saved event as the ORM would load it
    (Model.from_db), holding the same actor object."""
    db = transaction.get_connection()  # the connection itself, not the `connection` proxy: a thread-local look-up a use
    vendor = db.vendor
    if vendor not in _INSERTS:
        fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
        columns = [f.column for f in fields if f.column is not None]  # every concrete field has one
        quote = db.ops.quote_name
        returning = f" RETURNING {quote('seq')}" if db.features.can_return_columns_from_insert else ""
        types = {f.attname: str(f.db_type(db)) for f in fields}  # each parameter typed as its column
        _INSERTS[vendor] = (
            f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
            f"VALUES ({', '.join(f'%({f.attname})s' for f in fields)}){returning}",
            fields,
            types,
        )
    sql, fields, types = _INSERTS[vendor]
    with db.cursor() as cursor:
        prepared.execute(cursor, "audit_insert", sql,
                         {f.attname: f.get_db_prep_save(getattr(event, f.attname), db) for f in fields}, types)
        seq = cursor.fetchone()[0] if db.features.can_return_columns_from_insert else cursor.lastrowid
    concrete = AuditEvent._meta.concrete_fields
    saved = AuditEvent.from_db(db.alias, [f.attname for f in concrete],
                               [seq if f.primary_key else getattr(event, f.attname) for f in concrete])
    if event.actor_id is not None:
        saved.actor = event.actor  # the object the caller passed, not a query for it again
    return saved


def _seal_now() -> None:
    from .chain import seal_and_keep_signing

    try:
        seal_and_keep_signing()  # no beat here: the tail is signed when due even if nothing else is written
    except Exception:  # the event is committed either way; the next run (or verify_audit) seals it
        logger.exception("sealing the audit log after commit failed")


def _seal_after_commit() -> None:
    """Seal once the transaction commits (embedded default, no broker). One callback per transaction."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(entry[1] is _seal_now for entry in conn.run_on_commit):
        return
    transaction.on_commit(_seal_now)


class _Watch:
    """The on-commit callback that checks, a few seconds on, that the transaction's newest event was sealed."""

    def __init__(self, seq: int) -> None:
        self.seq = seq

    def __call__(self) -> None:
        from .chain import watch_sealing

        watch_sealing(self.seq)


def _watch_after_commit(seq: int) -> None:
    """With a broker: once the transaction commits, check in a few seconds that beat sealed it (audit.chain
    .watch_sealing). One callback per transaction, for its newest event."""
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        for entry in conn.run_on_commit:
            if isinstance(entry[1], _Watch):
                entry[1].seq = seq
                return
    transaction.on_commit(_Watch(seq))


def verification_run(*, incremental: bool = False, requested_by: User | None = None) -> Any:
    """Verify the log (all of it, or from the last verified witnessed checkpoint), keep the result for the
    auditors' page, and then audit the run itself.

    The `audit.verified` / `audit.verify_failed` event is written after the walk, so it lies outside the range
    it vouches for and cannot disturb it; the next run seals and checks it like any other event.
    """
    from .chain import verify, witness_verification
    from .models import AuditVerification

    result = verify(incremental=incremental)
    run = AuditVerification.objects.create(
        ok=result.ok,
        events=result.events,
        first_bad_seq=result.first_bad_seq,
        first_bad_position=result.first_bad_position,
        message=result.summary,
        duration_ms=int(result.seconds * 1000),
        kind=result.kind,
        from_position=result.from_position,
        verified_position=result.verified_position,
        requested_by=requested_by,
    )
    try:
        witness_verification(run)
    except Exception:  # the run stands in the database; without its witness entry it anchors nothing and is not shown
        logger.exception("the verification run could not be witnessed")
    with context.system("verify_audit") if context.current().actor is None else contextlib.nullcontext():
        record(
            action=AuditAction.AUDIT_VERIFIED if result.ok else AuditAction.AUDIT_VERIFY_FAILED,
            object_type="audit_log",
            object_ref="chain",
            detail={"events": result.events, "first_bad_seq": result.first_bad_seq,
                    "first_bad_position": result.first_bad_position, "message": result.message,
                    "seconds": round(result.seconds, 3), "kind": result.kind, "from_position": result.from_position},
        )
    return result



@transaction.atomic
def verification_request(*, user: User) -> bool:
    """An auditor asks for a full verification from their page: audited now, run by the worker (inline with no
    broker), its result shown on the page. A request already waiting is not queued twice; returns whether this one
    was queued."""
    from .selectors import pending_verification_request
    from .tasks import verify_requested

    if pending_verification_request() is not None:
        return False
    record(action=AuditAction.AUDIT_VERIFY_REQUESTED, object_type="audit_log", object_ref="chain", actor=user,
           detail={"via": "browser"})
    transaction.on_commit(lambda: verify_requested.delay(user.pk))
    return True
