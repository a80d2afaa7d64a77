"""The one way to write to the audit log."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from . import context
from .choices import AuditAction
from .models import AuditEvent

SYSTEM_ACTOR = "system"


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    # Dates, UUIDs and Decimals become strings, so the stored JSON hashes the same on every database.
    return json.loads(json.dumps(detail, cls=DjangoJSONEncoder))


def record(
    *,
    action: AuditAction | str,
    object_type: str = "",
    object_ref: str = "",
    agency: Any = None,
    detail: dict[str, Any] | None = None,
    actor: Any = None,
) -> AuditEvent:
    """Append one event. Call it inside the service's transaction so the change and its event commit together.

    `actor` defaults to the user in the audit context; with none, the named system actor is recorded.
    `agency` is the agency the event concerns (an Agency, or None); its code is frozen into the row.
    """
    ctx = context.current()
    if actor is None:
        actor = ctx.actor
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    actor_name = actor.get_username() if actor is not None else (ctx.system_actor or SYSTEM_ACTOR)
    event = AuditEvent.objects.create(
        action=str(action),
        actor=actor,
        actor_name=actor_name[:150],
        agency_id=getattr(agency, "pk", None),
        agency_code=getattr(agency, "code", "") or "",
        object_type=object_type,
        object_ref=str(object_ref)[:128],
        detail=_json_safe(detail or {}),
        request_id=ctx.request_id or "",
        client_ip=ctx.client_ip,
    )
    return event
