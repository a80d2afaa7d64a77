"""The request context (request id, actor, client address) of whatever is running: a web request, an API call,
a Celery task or a management command.

The web middleware and Celery tasks set it; audit events and log lines read it. A ContextVar keeps concurrent
requests (threads or async tasks) apart.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings import this module (logging), before the auth models may be loaded
    from common.types import User


@dataclass(frozen=True)
class RequestContext:
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    actor: User | None = None  # a User, or None for the system
    client_ip: str | None = None
    system_actor: str = ""


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current() -> RequestContext:
    return _current.get() or RequestContext(request_id="")


@contextlib.contextmanager
def bind(**values: Any) -> Iterator[RequestContext]:
    """Set context values for the duration of a block, restoring the previous context afterwards."""
    base = _current.get() or RequestContext()
    ctx = replace(base, **values)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def set_actor(actor: User) -> None:
    base = _current.get() or RequestContext()
    _current.set(replace(base, actor=actor))


@contextlib.contextmanager
def system(name: str) -> Iterator[RequestContext]:
    """Run a block as a named system actor (a scheduled task, a management command)."""
    with bind(actor=None, system_actor=name) as ctx:
        yield ctx


def start(**values: Any) -> Token:
    """Begin a fresh context (a Celery task); returns the token that `restore()` takes to undo it."""
    return _current.set(RequestContext(**values))


def restore(token: Token) -> None:
    """Put back the context that was current before `start()` (an eager task must not leak its actor)."""
    _current.reset(token)
