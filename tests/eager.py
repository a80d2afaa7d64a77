"""Run Celery tasks in-process for a test, even in the PostgreSQL run where a broker is configured."""

import contextlib
from collections.abc import Iterator

from sharing_registry.celery import app


@contextlib.contextmanager
def eager_tasks() -> Iterator[None]:
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved
