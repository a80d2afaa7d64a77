"""Shared test plumbing.

Tests that need PostgreSQL, a Redis-backed worker or Chromium are *deselected* (not skipped) in a run
that does not have them by design (the SQLite run). With CI=true, a missing service fails loudly.
"""

import importlib
import os
import shutil

import pytest
from django.conf import settings

from audit import triggers
from tests import openapi_check

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


openapi_check.install()


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def has_broker() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        needs_pg = item.get_closest_marker("postgres") or item.get_closest_marker("worker")
        needs_broker = item.get_closest_marker("worker")
        if (needs_pg and not on_postgres()) or (needs_broker and not has_broker()):
            drop.append(item)
        else:
            keep.append(item)
    if CI and on_postgres() and not has_broker():
        raise pytest.UsageError("CI runs the PostgreSQL suite with CELERY_BROKER_URL set; it is missing.")
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def chromium_path() -> str:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if CI:
            pytest.fail(f"Chromium is required in CI and was not found at {CHROMIUM}")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (CI installs it)")
    return CHROMIUM


@pytest.fixture(autouse=True)
def _append_only_triggers(request):
    """Keep audit triggers in place for every test; lift them only for the flush after a transactional test.

    Django empties the database after a transactional test with TRUNCATE (PostgreSQL) or DELETE (SQLite),
    which the append-only triggers rightly refuse. So the triggers are (re)installed, committed, before each
    database test starts, and dropped just before a transactional test's flush.
    """
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if not marker and not names & {"db", "transactional_db", "live_server"}:
        yield
        return
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    transactional = transactional or bool(names & {"transactional_db", "live_server"})
    from django.db import connection

    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        triggers.install(connection)
    request.getfixturevalue("_django_db_helper")
    yield
    if transactional:
        with request.getfixturevalue("django_db_blocker").unblock():
            triggers.uninstall(connection)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Users are made in nearly every test; the production hasher's deliberate slowness only costs time here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def legal_bases(request):
    """The catalogue the data migration loads. A transactional test's flush empties it, so reload it when missing."""
    if not ({"db", "transactional_db", "live_server"} & set(request.fixturenames)
            or request.node.get_closest_marker("django_db")):
        return
    from django.apps import apps as django_apps

    from agreements.models import LegalBasis

    request.getfixturevalue("_django_db_helper")
    if not LegalBasis.objects.exists():
        importlib.import_module("agreements.migrations.0002_legal_basis_catalogue").load(django_apps, None)
        importlib.import_module("agreements.migrations.0012_legal_basis_guidance").load(django_apps, None)


SCHEDULE_MIGRATIONS = (
    "agreements.migrations.0004_expire_schedule",
    "agreements.migrations.0006_review_reminder_schedule",
    "audit.migrations.0006_verify_and_export_schedules",
    "audit.migrations.0011_weekly_full_verification",
)


@pytest.fixture
def beat_schedules(db):
    """The schedules the migrations put in beat's tables. An earlier transactional test's flush (in this process)
    empties them, so load them again, as the migrations do (get_or_create: a no-op when they are there)."""
    from django.apps import apps as django_apps

    for name in SCHEDULE_MIGRATIONS:
        importlib.import_module(name).schedule(django_apps, None)


@pytest.fixture
def mail_in_process(settings):
    """Mail into the test outbox, sent by tasks run in-process (the PostgreSQL run has a broker configured)."""
    from tests.eager import eager_tasks

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with eager_tasks():
        yield


@pytest.fixture(autouse=True)
def _audit_witness(tmp_path, settings, monkeypatch):
    """Each test has its own witness directory, as each has its own database (processes it starts too); no signing
    timer outlives a test."""
    from audit import chain

    settings.AUDIT_WITNESS_DIR = str(tmp_path / "audit-witness")
    monkeypatch.setenv("AUDIT_WITNESS_DIR", settings.AUDIT_WITNESS_DIR)
    yield
    chain.cancel_deferred_checkpoint()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """API rate limits count in the cache, which outlives a test; each test starts with none spent."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _api_responses_match_the_schema():
    """Every /api/v1/ response the test received is one the OpenAPI schema describes (tests/openapi_check.py)."""
    openapi_check.start()
    yield
    found = openapi_check.problems()
    if found:
        pytest.fail("Responses the OpenAPI schema at /api/v1/schema/ does not describe:\n" + "\n".join(found),
                    pytrace=False)
