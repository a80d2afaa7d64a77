"""The Celery app. With no CELERY_BROKER_URL, tasks run eagerly in-process (see settings)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")

app = Celery("sharing_registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


_tokens: dict = {}  # task id -> the context token to restore after the task


@signals.task_prerun.connect
def _bind_request_id(task_id=None, task=None, **_):
    # A task's audit events and log lines carry the task id as their request id.
    from audit import context

    _tokens[task_id] = context.start(request_id=task_id or "", system_actor=f"task:{task.name}")


@signals.task_postrun.connect
def _unbind_request_id(task_id=None, **_):
    # Eager tasks run inside a web request or a test: give the caller its own context back.
    from audit import context

    token = _tokens.pop(task_id, None)
    if token is not None:
        try:
            context.restore(token)
        except ValueError:  # set in another thread or context; nothing of ours to undo
            pass



@app.task(name="sharing_registry.ping", ignore_result=False)
def ping(value: str) -> str:
    """A round trip for health checks and the worker test."""
    return f"pong:{value}"
