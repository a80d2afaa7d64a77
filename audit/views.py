"""The auditors' pages: the event list with filters, exports (streamed, or a background job for big ones) and the
last chain verification."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.errors import Conflict
from common.pagination import CountedPaginator, pagination
from common.types import AuthenticatedHttpRequest

from .choices import AuditAction, ExportStatus
from .export_jobs import (
    FORMATS,
    export_count_exceeds,
    export_job_download,
    export_job_get,
    export_job_list,
    export_job_request,
)
from .forms import EventFilterForm
from .models import AuditEvent
from .selectors import (
    EventFilters,
    audited_agencies,
    event_count,
    event_list,
    is_auditor,
    last_verification,
    pending_verification_request,
    recent_alerts,
    sealing_overdue,
)
from .services import record, verification_request

PAGE_SIZE = 50
RECENT_EXPORTS = 5
REFRESH_SECONDS = 3


def _start_of(day: dt.date | None, *, plus_days: int = 0) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=plus_days), dt.time.min))


def _require_auditor(request: HttpRequest) -> None:
    if not is_auditor(user=request.user):
        raise PermissionDenied("Only auditors and superusers may read the audit log.")


def _filters(form: EventFilterForm) -> tuple[EventFilters, dict[str, str]]:
    """The filters of a valid form, and the same values as a query string dict."""
    data = form.cleaned_data
    filters = EventFilters(
        since=_start_of(data["since"]), until=_start_of(data["until"], plus_days=1), agency=data["agency"],
        action=data["action"], actor=data["actor"], object_type=data["object_type"], object_ref=data["object_ref"],
    )
    return filters, {key: str(value) for key, value in data.items() if value}


@login_required
def event_list_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_auditor(request)
    agencies = audited_agencies(user=request.user)
    form = EventFilterForm(request.GET or None, agencies=agencies)
    filters = EventFilters()
    query: dict[str, str] = {}
    if form.is_bound and form.is_valid():
        filters, query = _filters(form)
    events = event_list(user=request.user, filters=filters, newest_first=True) if not form.errors else \
        event_list(user=request.user, newest_first=True).none()
    paginator = CountedPaginator(events, PAGE_SIZE, cap=settings.AUDIT_EXPORT_SYNC_LIMIT,
                                count=lambda cap: event_count(user=request.user, filters=filters, cap=cap))
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # read before this view's own event is written, as it was counted
    record(action=AuditAction.AUDIT_VIEWED, object_type="audit_log", object_ref="events",
           detail={"filters": filters.as_detail(), "page": page.number, "via": "browser"})
    export_base = reverse("audit-export")
    return render(request, "audit/event_list.html", status=400 if form.errors else 200, context={
        "form": form,
        "page": page,
        "events": page.object_list,
        "query": urlencode(query),
        "pagination": pagination(page, query),
        "query_items": sorted(query.items()),
        "csv_url": f"{export_base}?{urlencode({'format': 'csv', **query})}",
        "jsonl_url": f"{export_base}?{urlencode({'format': 'jsonl', **query})}",
        "export_in_background": isinstance(page.paginator, CountedPaginator) and page.paginator.capped,
        "export_formats": [("csv", "CSV"), ("jsonl", "JSON Lines")],
        "sync_limit": settings.AUDIT_EXPORT_SYNC_LIMIT,
        "exports": list(export_job_list(user=request.user)[:RECENT_EXPORTS]),
        "verification": last_verification(),
        "verification_pending": pending_verification_request(),
        "alerts": recent_alerts(),
        "sealing_overdue": sealing_overdue(),
        "queued": request.GET.get("verification") == "queued",
    })


def _check_answer(event: AuditEvent) -> dict[str, Any] | None:
    """A check's question and answer in words, from the event's detail (None for any other event)."""
    if event.action not in (AuditAction.CHECK_ALLOWED, AuditAction.CHECK_DENIED):
        return None
    detail = event.detail if isinstance(event.detail, dict) else {}
    outcome = str(detail.get("outcome") or "")
    return {
        "provider": detail.get("provider", ""), "recipient": detail.get("recipient", ""),
        "dataset": detail.get("dataset", ""), "purpose": detail.get("purpose", ""),
        "data_items": detail.get("data_items") or [], "on": detail.get("on", ""),
        "allowed": bool(detail.get("allowed")), "outcome": outcome.replace("_", " ").capitalize(),
        "reason": detail.get("reason", ""), "agreement": detail.get("agreement") or "",
        "legal_bases": detail.get("legal_bases") or [], "warnings": detail.get("warnings") or [],
    }


def _printable(value: Any) -> Any:
    """A detail's value with each lone surrogate (which JSON can carry as \\udXXX, and a detail may hold, but UTF-8
    cannot encode) written as that escape, so the page shows it instead of failing."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_printable(item) for item in value]
    if isinstance(value, dict):
        return {_printable(key): _printable(item) for key, item in value.items()}
    return value


@login_required
def event_detail_page(request: AuthenticatedHttpRequest, seq: int) -> HttpResponse:
    """One event in words: who did what to which object, why, and (for a check) the question and its answer."""
    _require_auditor(request)
    event = event_list(user=request.user).filter(seq=seq).first()
    if event is None:
        raise Http404("No such event visible to you")
    record(action=AuditAction.AUDIT_VIEWED, object_type="audit_log", object_ref="event",
           detail={"event": event.seq, "via": "browser"})
    event.detail = _printable(event.detail)
    detail = event.detail if isinstance(event.detail, dict) else {"value": event.detail}
    return render(request, "audit/event_detail.html", {
        "event": event,
        "check": _check_answer(event),
        "detail_items": [(key.replace("_", " ").capitalize(), value) for key, value in detail.items()],
        "detail_json": json.dumps(event.detail, indent=2, ensure_ascii=False, sort_keys=True),
    })


@login_required
@require_POST
def verification_request_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask for a full verification of the chain now; the page shows it queued, then its result."""
    _require_auditor(request)
    verification_request(user=request.user)
    return HttpResponseRedirect(f"{reverse('audit-events')}?verification=queued#verification", status=303)


@login_required
@require_POST
def export_request(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Ask for an export of the filtered events: streamed at once if small, else written by a background job."""
    _require_auditor(request)
    agencies = audited_agencies(user=request.user)
    form = EventFilterForm(request.POST, agencies=agencies)
    fmt = request.POST.get("format", "csv")
    if not form.is_valid() or fmt not in FORMATS:
        # The list page explains bad filters; send the auditor back to it with what they asked for.
        values = {key: value for key, value in request.POST.items() if key in form.fields and value}
        return HttpResponseRedirect(f"{reverse('audit-events')}?{urlencode(values)}")
    filters, query = _filters(form)
    events = event_list(user=request.user, filters=filters)
    if not export_count_exceeds(events=events, limit=settings.AUDIT_EXPORT_SYNC_LIMIT):
        return HttpResponseRedirect(f"{reverse('audit-export')}?{urlencode({'format': fmt, **query})}", status=303)
    job = export_job_request(user=request.user, filters=filters, fmt=fmt, via="browser")
    return HttpResponseRedirect(reverse("audit-export-job", args=[job.pk]), status=303)


@login_required
def export_job_page(request: AuthenticatedHttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """One background export: its progress while it runs (the page refreshes itself), then the download."""
    _require_auditor(request)
    job = export_job_get(user=request.user, job_id=job_id)
    running = job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
    return render(request, "audit/export_job.html", {
        "job": job, "running": running, "refresh_seconds": REFRESH_SECONDS if running else None,
        "filters": sorted(job.filters.items()),
    })


@login_required
def export_job_file(request: AuthenticatedHttpRequest, job_id: uuid.UUID) -> HttpResponseBase:
    """Download a finished export (the auditor who asked, or a superuser; anyone else gets 404)."""
    _require_auditor(request)
    job = export_job_get(user=request.user, job_id=job_id)
    try:
        handle, name = export_job_download(user=request.user, job=job)
    except Conflict:
        return HttpResponseRedirect(reverse("audit-export-job", args=[job.pk]), status=303)
    content_type = "text/csv; charset=utf-8" if job.format == "csv" else "application/x-ndjson; charset=utf-8"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
