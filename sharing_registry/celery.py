"""The Celery app. With no CELERY_BROKER_URL, tasks run eagerly in-process (see settings)."""

import logging
import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")

app = Celery("sharing_registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


logger = logging.getLogger("sharing_registry.tasks")


@signals.setup_logging.connect
def _keep_django_logging(**_: Any) -> None:
    # A worker logs like the web: Django's LOGGING, one JSON line each, carrying the request id (a task's id).
    # With a receiver on this signal Celery leaves logging alone instead of replacing the root handlers.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


_tokens: dict = {}  # task id -> the context token to restore after the task
ORIGIN_HEADER = "origin_request_id"


@signals.before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    # The request (or task) that queued a task travels with it, so a failure can be traced back to it.
    from common import context

    if headers is not None and ORIGIN_HEADER not in headers:
        headers[ORIGIN_HEADER] = context.current().request_id or ""


@signals.task_prerun.connect
def _bind_request_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    # A task's audit events and log lines carry the task id as their request id.
    from common import context

    if task.request.is_eager and not getattr(task.request, ORIGIN_HEADER, None):
        setattr(task.request, ORIGIN_HEADER, context.current().request_id or "")  # eager tasks are not published
    _tokens[task_id] = context.start(request_id=task_id or "", system_actor=f"task:{task.name}")


@signals.task_postrun.connect
def _unbind_request_id(task_id: str | None = None, **_: Any) -> None:
    # Eager tasks run inside a web request or a test: give the caller its own context back.
    from common import context

    token = _tokens.pop(task_id, None)
    if token is not None:
        try:
            context.restore(token)
        except ValueError:  # set in another thread or context; nothing of ours to undo
            pass


@signals.task_failure.connect
def _log_failure(sender: Any = None, task_id: str | None = None, exception: BaseException | None = None,
                 args: Any = None, kwargs: Any = None, einfo: Any = None, **_: Any) -> None:
    """A task that failed for good (retries used up, or an error not worth retrying): one JSON log line."""
    request = getattr(sender, "request", None)
    logger.error(
        "Task %s failed for good: %s", getattr(sender, "name", "?"), exception,
        extra={
            "request_id": task_id,  # the id the task's own log lines and audit events carry
            "task_id": task_id,
            "task": getattr(sender, "name", ""),
            "origin_request_id": getattr(request, ORIGIN_HEADER, None) or None,
            "retries": getattr(request, "retries", 0),
            "task_args": repr(args)[:500],
            "task_kwargs": repr(kwargs)[:500],
            "error": f"{type(exception).__name__}: {exception}",
        },
        exc_info=(type(exception), exception, exception.__traceback__) if exception is not None else None,
    )


@app.task(name="sharing_registry.ping", ignore_result=False)
def ping(value: str) -> str:
    """A round trip for health checks and the worker test."""
    return f"pong:{value}"
