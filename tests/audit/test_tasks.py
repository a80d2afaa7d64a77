"""Audit tasks, run eagerly: nightly verification and its alarm, and how a task that fails for good is logged."""

import json
import logging

import pytest

from agencies.choices import Role
from audit.models import AuditEvent, AuditVerification
from audit.tasks import auditor_emails, notify_verification_failed, verify_nightly
from sharing_registry.celery import app
from sharing_registry.logging import JsonFormatter
from tests.factories import member

from .conftest import attacker, sealed_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_in_process")]


@pytest.fixture
def people(agency, other_agency, auditor, frontline, superuser):
    """Who should hear of a failure (auditors anywhere, superusers) and who should not."""
    other_auditor = member(other_agency, Role.AUDITOR, username="olive")
    member(agency, Role.GOVERNANCE_OFFICER, username="gus")
    member(agency, Role.AUDITOR, username="gone", is_active=False)
    member(agency, Role.AUDITOR, username="no-email", email="")
    return {"told": {auditor.email, other_auditor.email, superuser.email}}


class NightlyVerificationTests:
    def test_an_intact_log_is_recorded_and_nobody_is_emailed(self, people, mailoutbox,
                                                            django_capture_on_commit_callbacks):
        sealed_events(3)
        with django_capture_on_commit_callbacks(execute=True):
            assert verify_nightly.apply().get() is True
        verification = AuditVerification.objects.get()
        assert verification.ok and verification.events >= 3
        assert AuditEvent.objects.filter(action="audit.verified").count() == 1
        assert mailoutbox == []

    def test_a_tampered_log_emails_the_auditors_and_shows_on_their_page(self, client, auditor, people, mailoutbox,
                                                                        django_capture_on_commit_callbacks):
        seqs = sealed_events(4)
        with attacker() as cursor:  # as tests/audit/test_chain.py does: edit a sealed row behind the triggers
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'edited' WHERE seq = %s", [seqs[2]])
        with django_capture_on_commit_callbacks(execute=True):
            assert verify_nightly.apply().get() is False

        verification = AuditVerification.objects.get()
        assert not verification.ok and verification.first_bad_seq == seqs[2]
        assert AuditEvent.objects.filter(action="audit.verify_failed").count() == 1
        assert {address for message in mailoutbox for address in message.to} == people["told"]
        assert len(mailoutbox) == len(people["told"])
        message = mailoutbox[0]
        assert message.subject == "Action needed: the audit log failed its nightly check"
        assert f"seq {seqs[2]}" in message.body
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html" and f"seq {seqs[2]}" in html

        client.force_login(auditor)
        page = client.get("/audit/").content.decode()
        assert "govuk-notification-banner" in page
        assert "The audit log failed its last check" in page and f"at event {seqs[2]}" in page

    def test_an_intact_log_shows_no_warning(self, client, auditor):
        sealed_events(2)
        verify_nightly.apply()
        client.force_login(auditor)
        page = client.get("/audit/").content.decode()
        assert "Intact" in page and "failed its last check" not in page

    def test_auditor_emails_are_auditors_anywhere_and_superusers(self, people):
        assert set(auditor_emails()) == people["told"]


class FailureLoggingTests:
    def test_a_task_that_fails_for_good_after_retries_logs_json_with_its_task_id(
        self, people, settings, caplog
    ):
        sealed_events(2)
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = 'check.denied' WHERE seq = (SELECT MIN(seq) FROM "
                           "audit_auditevent)")
        verify_nightly.apply()  # a failed verification to tell people about
        verification = AuditVerification.objects.get(ok=False)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
        caplog.set_level(logging.INFO)
        app.conf.task_eager_propagates = False  # as a worker does: the retries run, then the failure is recorded
        result = notify_verification_failed.apply(args=[verification.pk], task_id="alarm-task-1")
        assert result.state == "FAILURE" and isinstance(result.result, ConnectionRefusedError)
        retries = [r for r in caplog.records if "Retry in" in r.getMessage()]
        assert len(retries) == notify_verification_failed.max_retries  # retried with backoff before giving up
        [failure] = [r for r in caplog.records if r.name == "sharing_registry.tasks"]
        line = json.loads(JsonFormatter().format(failure))
        assert line["level"] == "ERROR" and line["task"] == "audit.notify_verification_failed"
        assert line["task_id"] == "alarm-task-1" and line["request_id"] == "alarm-task-1"
        assert line["retries"] == notify_verification_failed.max_retries
        assert "ConnectionRefusedError" in line["error"]


def test_nightly_and_weekly_verification_and_export_cleanup_are_in_beats_editable_schedule(beat_schedules):
    from django_celery_beat.models import PeriodicTask

    from sharing_registry.celery import app

    app.loader.import_default_modules()
    scheduled = {task.task: task for task in PeriodicTask.objects.select_related("crontab")}
    for name, hour in (("audit.verify_nightly", "2"), ("audit.verify_full", "3"), ("audit.export_cleanup", "*")):
        assert name in app.tasks and scheduled[name].enabled and scheduled[name].crontab.hour == hour
