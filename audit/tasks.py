"""Background work for the audit log: sealing, nightly verification, background exports and their clean-up.

Every task takes ids, not objects, is safe to run twice, is acknowledged late (a killed worker's task is delivered
again) and retries with backoff on database and broker connection errors (common.tasks.RETRYING).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import import_string

from common import context, mail
from common.tasks import RETRYING, RETRYING_MAIL
from common.types import User

logger = logging.getLogger(__name__)


@shared_task(name="audit.seal", ignore_result=True, acks_late=True)
def seal() -> int:
    """Seal committed events and sign the head. Beat runs it every AUDIT_SEAL_INTERVAL_SECONDS (no retry: the
    next run is seconds away)."""
    from .chain import seal_pending

    with context.system("audit-sealer"):
        return seal_pending().sealed


@shared_task(name="audit.verify_nightly", **RETRYING)
def verify_nightly() -> bool:
    """What `manage.py verify_audit --incremental` does, every night: from the last checkpoint a run verified and
    the witness holds, so its cost grows with the new events. The result is kept for the auditors' page, and a
    failure is emailed to the auditors (by a task of its own, so a mail outage retries the email, not the walk)."""
    return _verify_and_report(incremental=True)


@shared_task(name="audit.verify_full", **RETRYING)
def verify_full() -> bool:
    """What `manage.py verify_audit` does, weekly: the whole chain, in parallel ranges on one snapshot."""
    return _verify_and_report(incremental=False)


@shared_task(name="audit.verify_requested", **RETRYING)
def verify_requested(user_id: int) -> bool:
    """A full verification an auditor asked for from the audit page; its result shows there."""
    user = get_user_model().objects.filter(pk=user_id).first()
    with context.system("verify_audit"):
        return _verify_and_report(incremental=False, requested_by=user)


def _verify_and_report(*, incremental: bool, requested_by: User | None = None) -> bool:
    from .models import AuditVerification
    from .services import verification_run

    result = verification_run(incremental=incremental, requested_by=requested_by)
    if not result.ok:
        row = (AuditVerification.objects.filter(ok=False, first_bad_seq=result.first_bad_seq)
               .order_by("-ran_at", "-id").values_list("pk", flat=True).first())
        logger.error("audit chain verification failed at seq %s: %s", result.first_bad_seq, result.message)
        if row is not None:
            transaction.on_commit(lambda: notify_verification_failed.delay(row))
    return result.ok


def auditor_emails() -> list[str]:
    """Active auditors of any agency, and superusers, who have an email address: from the function
    AUDIT_AUDITOR_EMAILS names (who audits is the agencies' business, not the log's)."""
    return list(import_string(settings.AUDIT_AUDITOR_EMAILS)())


@shared_task(name="audit.notify_verification_failed", **RETRYING_MAIL)
def notify_verification_failed(verification_id: int) -> int:
    """Email every auditor that a verification failed. At least once: a redelivered task may send it twice."""
    from .models import AuditVerification

    verification = AuditVerification.objects.filter(pk=verification_id, ok=False).first()
    if verification is None:
        return 0
    messages = [
        mail.message(template="audit_verification_failed",
                     subject="Action needed: the audit log failed its nightly check",
                     to=[email], context={"verification": verification})
        for email in auditor_emails()
    ]
    return mail.send_all(messages)


@shared_task(name="audit.notify_alert", **RETRYING_MAIL)
def notify_alert(alert_id: int) -> int:
    """Email every auditor that the sealer refused to sign (see audit.chain: it only signs a head that extends the
    witness). At least once."""
    from .models import AuditAlert

    alert = AuditAlert.objects.filter(pk=alert_id).first()
    if alert is None:
        return 0
    messages = [
        mail.message(template="audit_alert", subject="Action needed: the audit log's sealer refused to sign"
                     if alert.refused else "Action needed: the audit log's sealer raised an alert",
                     to=[email], context={"alert": alert})
        for email in auditor_emails()
    ]
    return mail.send_all(messages)


class ExportTask(Task):
    """An export that fails for good leaves its job marked failed, with a message for the auditor."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        from .export_jobs import export_job_fail

        job_id = (args or [None])[0] or (kwargs or {}).get("job_id")
        if job_id:
            export_job_fail(job_id=job_id, message="The export could not be written. Ask for it again; if it fails "
                                                   "again, tell an administrator (task " + str(task_id) + ").")
        super().on_failure(exc, task_id, args, kwargs, einfo)


@shared_task(name="audit.export", base=ExportTask, **RETRYING)
def export_write(job_id: str) -> str:
    """Write a background export's file (audit.export_jobs.export_job_write): restartable, once."""
    from .export_jobs import export_job_write

    return export_job_write(job_id=job_id)


@shared_task(name="audit.export_cleanup", **RETRYING)
def export_cleanup() -> dict:
    """Hourly: delete expired export files and mark their jobs expired; queue stalled jobs again."""
    from .export_jobs import export_jobs_clean

    return export_jobs_clean()
