"""Server-side prepared statements on PostgreSQL, for the few small statements a hot request sends every time: for
those, PostgreSQL's parsing and planning cost several times their execution (the check's candidates, the user's
memberships). Each is prepared on a connection by its first use and executed by name after that; elsewhere (SQLite,
or a pooler in transaction mode) the same SQL is sent as it is.

tests/agreements/test_sql.py holds each prepared statement to the rows the plain one returns.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import connection

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

# The names of the statements prepared on each PostgreSQL connection (a PREPARE lasts as long as its session),
# forgotten with the connection.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_names = itertools.count(1)


def prepared_on(raw_connection: Any) -> dict[str, str]:
    """The statements prepared on this DB-API connection (`connection.connection`), by their name in the code."""
    return _PREPARED.setdefault(raw_connection, {})


def prepares_statements() -> bool:
    """Whether statements are prepared on this connection: on PostgreSQL, except behind a pooler in transaction mode,
    which moves sessions between clients (Django already needs DISABLE_SERVER_SIDE_CURSORS there)."""
    return connection.vendor == "postgresql" and not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")


def execute(cursor: CursorWrapper, statement: str, text: str, params: Mapping[str, Any],
            types: Mapping[str, str]) -> None:
    """Run `text` (with `%(name)s` placeholders for `params`) as the prepared statement `statement`, whose
    parameters have these PostgreSQL `types`, in this order; as plain SQL where statements are not prepared.

    The first use on a connection sends PREPARE and EXECUTE in one round trip, so preparing never costs a query.
    Each PREPARE takes a fresh name, so one that failed half-way can never collide with the next attempt."""
    if not prepares_statements():
        cursor.execute(text, params)
        return
    prepared = prepared_on(connection.connection)
    execute_args = ", ".join(f"%({name})s" for name in types)
    if statement in prepared:
        cursor.execute(f"EXECUTE {prepared[statement]}({execute_args})", params)
        return
    name = f"sr_{statement}_{next(_names)}"
    body = text
    for number, key in enumerate(types, start=1):
        body = body.replace(f"%({key})s", f"${number}")
    cursor.execute(f"PREPARE {name}({', '.join(types.values())}) AS {body}; EXECUTE {name}({execute_args})", params)
    prepared[statement] = name
