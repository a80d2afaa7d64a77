"""Notices emailed by a real Celery worker through Redis on PostgreSQL: each person gets each email once, even when the
worker is killed and the same tasks are delivered again to a new one (the PostgreSQL run of CI)."""

import pytest

from agencies.choices import Role
from agreements import services
from audit.models import AuditEvent
from notifications.models import Notification
from notifications.tasks import send_email
from sharing_registry.celery import ping
from tests.factories import AgencyFactory, agreement_factory, member
from tests.foundation.test_worker_tasks import new_queue, wait_for, worker

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
GO = Role.GOVERNANCE_OFFICER


def emails_to(mail_dir, address: str) -> int:
    return sum(path.read_text().count(f"To: {address}\n") for path in mail_dir.iterdir()) if mail_dir.exists() else 0


class NotificationEmailWorkerTests:
    def test_each_person_gets_each_email_once_after_a_worker_restart_and_redelivery(self, tmp_path):
        agreement = agreement_factory()
        nhs = AgencyFactory(code="nhs-provider")
        people = [member(nhs, GO, username=f"nhs-officer-{n}") for n in range(3)]
        people.append(member(agreement.lead_agency, GO, username="lead-second-officer"))
        mail_dir = tmp_path / "mail"
        env = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir)}
        queue = new_queue()
        with worker(queue, **env) as first:
            services.agreement_submit(actor=agreement.created_by, agreement=agreement)  # queued after its commit
            wait_for(lambda: Notification.objects.filter(emailed_at__isnull=False).count() == len(people),
                     what="every notice to be emailed", timeout=60)
            first.kill()  # no goodbye: as if the machine died
            first.wait(timeout=20)
        notices = list(Notification.objects.order_by("pk"))
        with worker(queue, **env):
            # The broker hands the same tasks out again (a lost acknowledgement), twice over, to the new worker.
            for _ in range(2):
                for notice in notices:
                    send_email.apply_async(args=[notice.pk])
            ping.apply_async(args=["after the redeliveries"]).get(timeout=60)
        for person in people:
            assert emails_to(mail_dir, person.email) == 1, person.username
        assert emails_to(mail_dir, agreement.created_by.email) == 0  # the sender is not told what they did
        emailed = AuditEvent.objects.filter(action="notification.emailed")
        assert sorted(emailed.values_list("detail__to", flat=True)) == sorted(p.username for p in people)
        assert all(n.emailed_at and n.email_wanted for n in notices)
        mail = "".join(path.read_text() for path in mail_dir.iterdir())
        assert "Content-Type: text/html" in mail and agreement.reference in mail

    def test_tasks_queued_while_no_worker_runs_are_sent_once_when_one_starts(self, tmp_path):
        agreement = agreement_factory()
        officer = member(AgencyFactory(code="nhs-provider"), GO, username="nhs-officer")
        mail_dir = tmp_path / "mail"
        env = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir)}
        queue = new_queue()
        from sharing_registry.celery import app

        saved = app.conf.task_default_queue
        app.conf.task_default_queue = queue
        try:
            services.agreement_submit(actor=agreement.created_by, agreement=agreement)  # no worker: waits in Redis
            notice = Notification.objects.get()
            send_email.apply_async(args=[notice.pk])  # and a duplicate waits with it
        finally:
            app.conf.task_default_queue = saved
        assert Notification.objects.get().emailed_at is None
        with worker(queue, **env):
            wait_for(lambda: Notification.objects.filter(emailed_at__isnull=False).exists(), what="the email")
            ping.apply_async(args=["after both"]).get(timeout=60)
        assert emails_to(mail_dir, officer.email) == 1
