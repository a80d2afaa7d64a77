"""The Celery app. With no CELERY_BROKER_URL, tasks run eagerly in-process (see settings)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")

app = Celery("sharing_registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _bind_request_id(task_id=None, task=None, **_):
    # A task's audit events and log lines carry the task id as their request id.
    from audit import context

    context.start(request_id=task_id or "", system_actor=f"task:{task.name}")


@app.task(name="sharing_registry.ping", ignore_result=False)
def ping(value: str) -> str:
    """A round trip for health checks and the worker test."""
    return f"pong:{value}"
