"""GET /healthz: the state of the database, its migrations and, where configured, the broker."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse


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


def healthz(request):
    database = _database()
    broker = _broker()
    healthy = database["ok"]
    body = {
        "status": "ok" if healthy and broker["ok"] and not database.get("migrations_pending") else "degraded",
        "database": database,
        "broker": broker,
    }
    if not healthy:
        body["status"] = "down"
    return JsonResponse(body, status=200 if healthy else 503)
