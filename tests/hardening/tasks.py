"""A slow task for the fault tests, loaded only by workers started with tests.hardening.worker_settings."""

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.hardening.slow_write")
def slow_write(path: str, seconds: float) -> None:
    """Note each start in PATH.starts, work for SECONDS, then note the completion in PATH (one line a completion)."""
    with Path(f"{path}.starts").open("a") as starts:
        starts.write("started\n")
    time.sleep(seconds)
    with Path(path).open("a") as done:
        done.write("done\n")
