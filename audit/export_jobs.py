"""Background exports: an auditor asks, a task writes the file, the auditor downloads it, the file expires.

Services and selectors for `ExportJob` in one module (audit/services.py belongs to the append path). Each step is
audited: `audit.export_requested` when asked, `audit.export_finished` when the file is written (or the job fails),
and `audit.exported` with filters and row count at each download, like the streamed export of the contract.

Writing is restartable. A task that is delivered again after its worker died starts the file again from scratch:
rows go to `<id>.<format>.<attempt>.part`, which is renamed only when complete, so a download never sees half a
file, and two attempts never share one. On PostgreSQL a session advisory lock keeps a second delivery from writing
while the first is alive; the lock goes with the dead worker's connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from common.errors import Conflict
from common.types import User

from . import export
from .choices import AuditAction, ExportStatus
from .models import AuditEvent, ExportJob
from .selectors import EventFilters, event_list
from .services import record

logger = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl")
ACTIVE = (ExportStatus.QUEUED, ExportStatus.RUNNING)
_LOCK_MASK = 0x7FFF_FFFF_FFFF_FFFF
_OUR_FILE = re.compile(
    r"^(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(csv|jsonl)(\.\d+\.part)?$"
)


def export_dir() -> Path:
    return Path(settings.AUDIT_EXPORT_DIR)


def filters_from_detail(detail: dict[str, Any]) -> EventFilters:
    """The EventFilters a job stored with `as_detail()`."""
    values = dict(detail)
    for key in ("since", "until"):
        if values.get(key):
            values[key] = dt.datetime.fromisoformat(values[key])
    return EventFilters(**values)


def _events(job: ExportJob) -> QuerySet:
    # The requester's access is checked again when the file is written, and the rows stop at the events that
    # existed when they asked.
    filters = filters_from_detail(job.filters)
    return event_list(user=job.requested_by, filters=filters).filter(seq__lte=job.seq_high)


def _event(action: AuditAction, job: ExportJob, *, actor: User | None = None, **detail: Any) -> None:
    record(action=action, object_type="export_job", object_ref=str(job.pk), actor=actor,
           detail={"job": str(job.pk), "format": job.format, "filters": job.filters, **detail})


# --- selectors ----------------------------------------------------------------------------------------------


def export_count_exceeds(*, events: QuerySet, limit: int) -> bool:
    """Whether more than `limit` events match, counting at most limit + 1 of them."""
    return events.order_by()[: limit + 1].count() > limit


def export_job_list(*, user: User) -> QuerySet[ExportJob]:
    """The jobs `user` asked for, newest first."""
    return ExportJob.objects.filter(requested_by=user).order_by("-created_at")


def export_job_get(*, user: User, job_id: uuid.UUID | str) -> ExportJob:
    """One job, for the auditor who asked for it or a superuser; anyone else gets Http404."""
    jobs = ExportJob.objects.select_related("requested_by")
    if not user.is_superuser:
        jobs = jobs.filter(requested_by=user)
    try:
        return jobs.get(pk=job_id)
    except (ExportJob.DoesNotExist, ValueError, TypeError) as missing:
        raise Http404("No export has that id.") from missing


# --- services -----------------------------------------------------------------------------------------------


@transaction.atomic
def export_job_request(*, user: User, filters: EventFilters, fmt: str, via: str) -> ExportJob:
    """Create a job for `user`'s export and queue its task once the job is committed."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    seq_high = AuditEvent.objects.aggregate(high=Max("seq"))["high"] or 0
    job = ExportJob.objects.create(requested_by=user, filters=filters.as_detail(), format=fmt, seq_high=seq_high)
    _event(AuditAction.AUDIT_EXPORT_REQUESTED, job, actor=user, via=via, seq_high=seq_high)
    _queue(job.pk)
    return job


def _queue(job_id: uuid.UUID | str) -> None:
    from .tasks import export_write

    # robust: with tasks running eagerly, a failed export is recorded on the job and must not fail the request.
    transaction.on_commit(lambda: export_write.delay(str(job_id)), robust=True)


@contextlib.contextmanager
def _writer_lock(job_id: uuid.UUID | str) -> Iterator[bool]:
    """True if this process may write the job's file (PostgreSQL: a session advisory lock on the job)."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = uuid.UUID(str(job_id)).int & _LOCK_MASK
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with contextlib.suppress(InterfaceError, OperationalError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])  # a lost connection took the lock with it


def _claim(job_id: uuid.UUID | str) -> ExportJob | None:
    """Mark the job running (again), or None when there is nothing to write."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().select_related("requested_by").filter(pk=job_id).first()
        if job is None or job.status not in ACTIVE:
            return None
        if job.attempts >= settings.AUDIT_EXPORT_MAX_ATTEMPTS:
            _fail(job, f"The export was started {job.attempts} times and never finished. Ask for a smaller export, "
                       "or ask an administrator to check the workers.")
            return None
        now = timezone.now()
        job.status, job.attempts, job.started_at, job.progress_at = ExportStatus.RUNNING, job.attempts + 1, now, now
        job.rows_done, job.rows_total, job.error = 0, None, ""
        job.save(update_fields=["status", "attempts", "started_at", "progress_at", "rows_done", "rows_total",
                                "error"])
        return job


def _progress(job_id: uuid.UUID, rows: int, *, total: int | None = None) -> None:
    """Record progress in its own short transaction, so the auditors' page sees it at once."""
    values: dict[str, Any] = {"rows_done": rows, "progress_at": timezone.now()}
    if total is not None:
        values["rows_total"] = total
    ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(**values)


def export_job_write(*, job_id: uuid.UUID | str) -> str:
    """Write the job's file from the first row, then mark it finished. Returns the job's status afterwards.

    Safe to run again: a finished, failed or expired job is left alone; a job still marked running (its worker died)
    is written again from scratch; a job another live worker is writing is left to it ("busy").
    """
    with _writer_lock(job_id) as mine:
        if not mine:
            return "busy"
        job = _claim(job_id)
        if job is None:
            return ExportJob.objects.filter(pk=job_id).values_list("status", flat=True).first() or "missing"
        started = time.monotonic()
        events = _events(job)
        _progress(job.pk, 0, total=events.count())
        final, rows = _write_file(job, events)
        with transaction.atomic():
            job = ExportJob.objects.select_for_update().get(pk=job.pk)
            if job.status != ExportStatus.RUNNING:  # failed or expired while we wrote: keep no file
                (export_dir() / final).unlink(missing_ok=True)
                return job.status
            now = timezone.now()
            job.status, job.rows_done, job.rows_total, job.file_name = ExportStatus.FINISHED, rows, rows, final
            job.finished_at, job.progress_at = now, now
            job.expires_at = now + dt.timedelta(hours=settings.AUDIT_EXPORT_RETENTION_HOURS)
            job.save(update_fields=["status", "rows_done", "rows_total", "file_name", "finished_at", "progress_at",
                                    "expires_at"])
            _event(AuditAction.AUDIT_EXPORT_FINISHED, job, status="finished", rows=rows, attempts=job.attempts,
                   requested_by=job.requested_by.get_username(), seconds=round(time.monotonic() - started, 3))
        return job.status


def _write_file(job: ExportJob, events: QuerySet) -> tuple[str, int]:
    """Stream the rows into this attempt's part file from a server-side cursor, then rename it. Constant memory."""
    directory = export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    final = f"{job.pk}.{job.format}"
    part = directory / f"{final}.{job.attempts}.part"
    counter = [0]
    # Rows, not COPY: the progress below is written on this connection while the file is.
    if job.format == "csv":
        lines = export.csv_lines(events, counter, copy=False)
    else:
        lines = export.jsonl_lines(events, counter)
    every = max(1, settings.AUDIT_EXPORT_PROGRESS_ROWS)
    delay = settings.AUDIT_EXPORT_CHUNK_DELAY_SECONDS
    mark = every
    # "w": a restart begins the file again. A lone surrogate in a detail is written as its JSON escape (as stream()).
    with open(part, "w", encoding="utf-8", errors="backslashreplace", newline="") as out:
        for line in lines:
            out.write(line)
            if counter[0] >= mark:
                mark += every
                out.flush()
                _progress(job.pk, counter[0])
                if delay:
                    time.sleep(delay)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, directory / final)
    _remove_parts(job)  # what earlier, dead attempts left
    return final, counter[0]


def _remove_parts(job: ExportJob) -> None:
    with contextlib.suppress(OSError):  # the folder itself may be what failed
        for part in export_dir().glob(f"{job.pk}.{job.format}.*.part"):
            part.unlink(missing_ok=True)


def _fail(job: ExportJob, message: str) -> None:
    now = timezone.now()
    job.status, job.error, job.finished_at = ExportStatus.FAILED, message, now
    job.save(update_fields=["status", "error", "finished_at"])
    _remove_parts(job)
    _event(AuditAction.AUDIT_EXPORT_FINISHED, job, status="failed", rows=job.rows_done, attempts=job.attempts,
           requested_by=job.requested_by.get_username(), error=message)


def export_job_fail(*, job_id: uuid.UUID | str, message: str) -> bool:
    """Mark a job that cannot be written as failed, with a message for the auditor. False if it had ended."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().select_related("requested_by").filter(pk=job_id).first()
        if job is None or job.status not in ACTIVE:
            return False
        _fail(job, message)
        return True


@transaction.atomic
def export_job_download(*, user: User, job: ExportJob) -> tuple[BinaryIO, str]:
    """The finished file, open for reading, and the name to save it as; the download is recorded as
    `audit.exported`. Raises Conflict when the job has not finished or its file has gone.
    """
    if job.status != ExportStatus.FINISHED:
        raise Conflict(f"This export is {job.get_status_display().lower()}: there is no file to download.")
    try:
        handle = open(export_dir() / job.file_name, "rb")  # noqa: SIM115 - the response closes it
    except FileNotFoundError as gone:
        raise Conflict("The file for this export is no longer available. Ask for the export again.") from gone
    record(action=AuditAction.AUDIT_EXPORTED, object_type="audit_log", object_ref=job.format, actor=user,
           detail={"format": job.format, "filters": job.filters, "rows": job.rows_total, "complete": True,
                   "job": str(job.pk), "via": "background"})
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%dT%H%M%S")
    return handle, f"audit-{stamp}.{job.format}"


def export_jobs_clean(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Expire finished jobs past their time and delete their files; queue stalled jobs again; sweep stray files."""
    now = now or timezone.now()
    expired = 0
    for pk in ExportJob.objects.filter(status=ExportStatus.FINISHED, expires_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            job = ExportJob.objects.select_for_update().filter(pk=pk, status=ExportStatus.FINISHED).first()
            if job is None:
                continue
            name = job.file_name
            job.status, job.file_name = ExportStatus.EXPIRED, ""
            job.save(update_fields=["status", "file_name"])
        (export_dir() / name).unlink(missing_ok=True)  # after the commit: a failed commit must not lose a file
        expired += 1

    stale = now - dt.timedelta(minutes=settings.AUDIT_EXPORT_STALE_MINUTES)
    stalled = list(ExportJob.objects.filter(
        Q(status=ExportStatus.QUEUED, created_at__lt=stale) | Q(status=ExportStatus.RUNNING, progress_at__lt=stale)
    ).values_list("pk", flat=True))
    for pk in stalled:
        logger.warning("export job %s made no progress for %s minutes: queued again", pk,
                       settings.AUDIT_EXPORT_STALE_MINUTES)
        _queue(pk)

    swept = 0
    directory = export_dir()
    if directory.is_dir():
        keep = set(ExportJob.objects.filter(status=ExportStatus.FINISHED).values_list("file_name", flat=True))
        writing = {str(pk) for pk in ExportJob.objects.filter(status__in=ACTIVE).values_list("pk", flat=True)}
        for path in directory.iterdir():
            ours = _OUR_FILE.match(path.name)  # never touch a file this module did not write
            if not ours or not path.is_file() or path.name in keep or ours["id"] in writing:
                continue
            path.unlink(missing_ok=True)
            swept += 1
    return {"expired": expired, "requeued": len(stalled), "swept": swept}
