"""Settings for the fault tests' workers: the real ones, plus the test task, and unacknowledged work handed out
again after 1 s instead of an hour (so a killed worker's task comes back within a test)."""

from sharing_registry.settings import *  # noqa: F403

CELERY_IMPORTS = ["tests.hardening.tasks"]
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 1}
