"""The request context (request id, actor, client address) that audit events pick up.

The web middleware and Celery tasks set it; `audit.services.record` reads it. A ContextVar keeps
concurrent requests (threads or async tasks) apart.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    actor: Any = None  # a User, or None for the system
    client_ip: str | None = None
    system_actor: str = ""


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current() -> AuditContext:
    return _current.get() or AuditContext(request_id="")


@contextlib.contextmanager
def bind(**values: Any) -> Iterator[AuditContext]:
    """Set context values for the duration of a block, restoring the previous context afterwards."""
    base = _current.get() or AuditContext()
    ctx = replace(base, **values)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def set_actor(actor: Any) -> None:
    base = _current.get() or AuditContext()
    _current.set(replace(base, actor=actor))


@contextlib.contextmanager
def system(name: str) -> Iterator[AuditContext]:
    """Run a block as a named system actor (a scheduled task, a management command)."""
    with bind(actor=None, system_actor=name) as ctx:
        yield ctx


def start(**values: Any) -> Token:
    """Begin a fresh context (a Celery task); returns the token that `restore()` takes to undo it."""
    return _current.set(AuditContext(**values))


def restore(token: Token) -> None:
    """Put back the context that was current before `start()` (an eager task must not leak its actor)."""
    _current.reset(token)
