"""Start a real Celery worker process against the test database and the Redis broker."""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@contextlib.contextmanager
def celery_worker(queue: str | None = None, extra_env: dict | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """Yield (process, queue). The worker listens only on its own queue, so no other worker steals its tasks."""
    queue = queue or f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
        "AUDIT_WITNESS_DIR": str(settings.AUDIT_WITNESS_DIR),  # the test's witness: the worker signs into it too
        **(extra_env or {}),
    }
    log = open(ROOT / f".worker-{queue}.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sharing_registry", "worker", "--pool=solo",
         "--loglevel=INFO", "-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            log.seek(0)
            if "ready." in log.read():
                break
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"celery worker exited early:\n{log.read()}")
            time.sleep(0.2)
        else:
            raise RuntimeError("celery worker did not become ready within 60 s")
        yield proc, queue
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        (ROOT / f".worker-{queue}.log").unlink(missing_ok=True)


def wait_for(predicate, *, what: str, timeout: float = 30, interval: float = 0.05):
    """What `predicate` returns once it is true, polled until `timeout` seconds; else fail, naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
