"""GET /healthz: up or down for anyone; the state of the database, its migrations and the broker for monitoring.

The details (database vendor, pending migrations, which service failed) help an attacker as much as an operator,
so only an authorised caller gets them: one that sends the monitoring token (HEALTHZ_TOKEN, as
`Authorization: Bearer <token>`), or one connecting from an internal address (HEALTHZ_INTERNAL_NETWORKS; the
address is the one the audit log records, so behind NUM_PROXIES proxies it is the client's, not the proxy's).
"""

import ipaddress
import secrets
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

from .middleware import _client_ip


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return {"ok": True, "vendor": connection.vendor, "migrations_pending": len(pending)}
    except DatabaseError as exc:
        return {"ok": False, "vendor": connection.vendor, "error": exc.__class__.__name__}


def _broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "configured": False, "mode": "eager"}
    from sharing_registry.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "configured": True}
    except Exception as exc:  # any transport error means "down" for a health check
        return {"ok": False, "configured": True, "error": exc.__class__.__name__}


def _authorised(request: HttpRequest) -> bool:
    """The monitoring token, or an address inside HEALTHZ_INTERNAL_NETWORKS."""
    token = settings.HEALTHZ_TOKEN
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    if token and sent.startswith("Bearer ") and secrets.compare_digest(sent[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(_client_ip(request) or "")
    except ValueError:
        return False
    return any(address in network for network in settings.HEALTHZ_INTERNAL_NETWORKS)


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _audit_sealing() -> dict[str, Any]:
    """Whether the audit log is being signed on time (audit.selectors.sealing_overdue): beat stopped or its
    schedule disabled, with no writer sealing instead, makes the service degraded."""
    from audit.selectors import sealing_overdue

    try:
        overdue = sealing_overdue()
    except DatabaseError:
        return {"ok": False, "error": "unreadable"}
    if overdue is None:
        return {"ok": True}
    return {"ok": False, "unsigned_from_seq": overdue["seq"],
            "last_signed": overdue["since"].isoformat() if overdue["since"] else None}


def healthz(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        up = _database_up()
        return JsonResponse({"status": "up" if up else "down"}, status=200 if up else 503)
    database = _database()
    broker = _broker()
    healthy = database["ok"]
    sealing = _audit_sealing() if healthy else {"ok": False}
    body = {
        "status": "ok" if healthy and broker["ok"] and sealing["ok"] and not database.get("migrations_pending")
        else "degraded",
        "database": database,
        "broker": broker,
        "audit_sealing": sealing,
    }
    if not healthy:
        body["status"] = "down"
    return JsonResponse(body, status=200 if healthy else 503)
