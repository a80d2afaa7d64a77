"""The retry policy of every Celery task: acknowledged late (a killed worker's task is delivered again) and retried
with backoff on database and broker connection errors; tasks that send mail also retry on mail server errors.

    @shared_task(name="app.thing", **RETRYING)
"""

from __future__ import annotations

import smtplib
from typing import TypedDict

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError, OperationalError

RETRY_ON: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, kombu.exceptions.OperationalError, redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


class RetryPolicy(TypedDict):
    """The keyword arguments of `shared_task` that make up a retry policy."""

    acks_late: bool
    reject_on_worker_lost: bool
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    retry_backoff_max: int
    retry_jitter: bool
    max_retries: int


RETRYING: RetryPolicy = {
    "acks_late": True, "reject_on_worker_lost": True, "autoretry_for": RETRY_ON,
    "retry_backoff": 2, "retry_backoff_max": 300, "retry_jitter": True, "max_retries": 6,
}
# Tasks that send mail also retry when the mail server is unreachable or refuses for now.
RETRYING_MAIL: RetryPolicy = {
    **RETRYING, "autoretry_for": (*RETRY_ON, smtplib.SMTPException, ConnectionError, TimeoutError),
}
