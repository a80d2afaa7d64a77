"""Scheduled and background work on a real worker process through Redis: expiry, a review reminder, and an export
that survives its worker being killed half-way (the PostgreSQL run of CI)."""

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.utils import timezone

from agencies.choices import Role
from agreements.models import Agreement, ReviewReminder
from agreements.tasks import expire, review_reminders, send_review_reminder
from audit import chain
from audit.choices import ExportStatus
from audit.export_jobs import export_job_request
from audit.models import AuditEvent, AuditSeal, AuditVerification, ExportJob
from audit.selectors import EventFilters
from audit.services import record
from audit.tasks import verify_nightly
from common import context
from sharing_registry.celery import app, ping
from tests.audit.conftest import attacker, sealed_events
from tests.factories import UserFactory, agreement_factory, member
from tests.worker import ROOT, _database_url, celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def worker(queue: str, **env):
    """A worker on its own queue; tasks it queues itself (and this process queues) go to the same queue."""
    saved = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        with celery_worker(queue=queue, extra_env={"CELERY_TASK_DEFAULT_QUEUE": queue, **env}) as (proc, _):
            yield proc
    finally:
        app.conf.task_default_queue = saved


def new_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


class ScheduledWorkOnAWorkerTests:
    def test_daily_expiry_end_to_end(self):
        start = timezone.localdate() - dt.timedelta(days=400)
        agreement = agreement_factory(state="active", start_date=start, end_date=start + dt.timedelta(days=100),
                                      review_date=start + dt.timedelta(days=50))
        queue = new_queue()
        with worker(queue):
            result = expire.apply_async()
            wait_for(lambda: Agreement.objects.filter(pk=agreement.pk, status="expired").exists(),
                     what="the agreement to expire")
            # While the worker is up: a task that fails for good is logged as JSON with its ids.
            with context.bind(request_id="web-request-1"):
                broken = send_review_reminder.apply_async(args=["not-a-version-id", 30])
            ping.apply_async(args=["after"]).get(timeout=30)
            log = (ROOT / f".worker-{queue}.log").read_text()
        event = AuditEvent.objects.get(action="agreement.expired", object_ref=agreement.reference)
        assert event.actor is None and event.actor_name == "task:agreements.expire"
        assert event.request_id == result.id
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        [failure] = [line for line in lines if line["logger"] == "sharing_registry.tasks"]
        assert failure["level"] == "ERROR" and failure["task"] == "agreements.send_review_reminder"
        assert failure["task_id"] == failure["request_id"] == broken.id
        assert failure["origin_request_id"] == "web-request-1" and "ValueError" in failure["error"]

    def test_a_review_reminder_once_and_a_failed_nightly_check_reach_their_people(self, tmp_path):
        today = timezone.localdate()
        agreement = agreement_factory(state="active", start_date=today - dt.timedelta(days=30),
                                      end_date=today + dt.timedelta(days=400),
                                      review_date=today + dt.timedelta(days=30))
        auditor = member(agreement.lead_agency, Role.AUDITOR, username="lead-auditor")
        tampered = sealed_events(3)[1]
        with attacker() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_ref = 'edited' WHERE seq = %s", [tampered])
        mail_dir = tmp_path / "mail"
        with worker(new_queue(), EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                    EMAIL_FILE_PATH=str(mail_dir)):
            review_reminders.apply_async()  # the daily run queues the send, which the same worker picks up
            verify_nightly.apply_async()  # and the nightly check queues the alarm
            wait_for(lambda: ReviewReminder.objects.filter(sent_at__isnull=False).exists(), what="the reminder")
            review_reminders.apply_async()  # beat runs it again: nothing more to send
            ping.apply_async(args=["after"]).get(timeout=30)
            ping.apply_async(args=["after anything those queued"]).get(timeout=30)
        mail = "".join(path.read_text() for path in mail_dir.iterdir())
        for officer in ("lead-council-governance_officer", "lead-council-second-officer",
                        "nhs-provider-governance_officer"):
            assert mail.count(f"To: {officer}@example.org") == 1
        assert "Content-Type: text/html" in mail and agreement.reference in mail
        assert AuditEvent.objects.filter(action="agreement.review_reminded").count() == 1
        assert ReviewReminder.objects.count() == 1
        verification = AuditVerification.objects.get()
        assert not verification.ok and verification.first_bad_seq == tampered
        assert mail.count(f"To: {auditor.email}") == 1
        assert "Subject: Action needed: the audit log failed its nightly check" in mail


class ExportSurvivesAKilledWorkerTests:
    ROWS = 3000

    def test_the_export_is_written_again_once_and_completely_after_its_worker_is_killed(self, settings, tmp_path):
        seqs = [event.seq for event in AuditEvent.objects.bulk_create(
            [AuditEvent(action="check.allowed", actor_name="system", object_type="dataset", object_ref=f"ds-{i}",
                        detail={"i": i}) for i in range(self.ROWS)], batch_size=1000)]
        settings.AUDIT_EXPORT_DIR = tmp_path / "exports"
        root = UserFactory(username="root", is_superuser=True)
        queue = new_queue()
        shared = {"AUDIT_EXPORT_DIR": str(settings.AUDIT_EXPORT_DIR), "AUDIT_EXPORT_PROGRESS_ROWS": "100"}

        with worker(queue, AUDIT_EXPORT_CHUNK_DELAY_SECONDS="0.1", **shared) as first:
            job = export_job_request(user=root, filters=EventFilters(action="check.allowed"), fmt="jsonl", via="api")
            wait_for(lambda: ExportJob.objects.filter(pk=job.pk, rows_done__gt=0).exists(), what="the export to start")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        killed = ExportJob.objects.get(pk=job.pk)
        assert killed.status == ExportStatus.RUNNING and 0 < killed.rows_done < self.ROWS, killed.rows_done
        assert [p.name for p in settings.AUDIT_EXPORT_DIR.iterdir()] == [f"{job.pk}.jsonl.1.part"]

        # The unacknowledged task is delivered again once its visibility timeout (1 s here) has passed since it
        # was first delivered; a starting worker looks for such tasks, so start it after that.
        time.sleep(1.2)
        with worker(queue, CELERY_VISIBILITY_TIMEOUT_SECONDS="1", **shared):
            wait_for(lambda: ExportJob.objects.filter(pk=job.pk, status=ExportStatus.FINISHED).exists(),
                     what="the export to finish on the second worker")

        done = ExportJob.objects.get(pk=job.pk)
        assert done.attempts == 2 and done.rows_done == done.rows_total == self.ROWS
        assert [p.name for p in settings.AUDIT_EXPORT_DIR.iterdir()] == [f"{job.pk}.jsonl"]
        lines = (settings.AUDIT_EXPORT_DIR / done.file_name).read_text().splitlines()
        assert [json.loads(line)["seq"] for line in lines] == seqs
        assert AuditEvent.objects.filter(action="audit.export_finished", object_ref=str(job.pk)).count() == 1


class BeatTests:
    def test_beat_with_the_database_scheduler_has_a_worker_seal_new_events(self, tmp_path, settings):
        """What docker-compose's beat runs: the schedule comes from the database, and sealing happens on time."""
        settings.AUDIT_SEAL_ON_COMMIT = False  # as with a broker; set here, since another test's threads may leak it
        event = record(action="check.allowed", object_type="dataset", object_ref="ds-1")
        assert not AuditSeal.objects.filter(event_id=event.seq).exists()  # no inline sealing with a broker
        chain.cancel_deferred_checkpoint()  # nor this process's backstop: beat is what is tested here
        queue = new_queue()
        with worker(queue):
            beat = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "sharing_registry", "beat", "--loglevel=INFO",
                 f"--pidfile={tmp_path / 'beat.pid'}"],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={**os.environ, "DATABASE_URL": _database_url(), "CELERY_TASK_DEFAULT_QUEUE": queue},
            )
            try:
                wait_for(lambda: AuditSeal.objects.filter(event_id=event.seq).exists(), what="beat to have it sealed")
            finally:
                beat.terminate()
                beat.wait(timeout=20)
