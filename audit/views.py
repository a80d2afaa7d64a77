"""The auditors' page: the event list with filters, export links and the last chain verification."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from .choices import AuditAction
from .forms import EventFilterForm
from .selectors import EventFilters, audited_agencies, event_list, is_auditor, last_verification
from .services import record

PAGE_SIZE = 50


def _start_of(day: dt.date | None, *, plus_days: int = 0) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=plus_days), dt.time.min))


@login_required
def event_list_page(request):
    if not is_auditor(user=request.user):
        raise PermissionDenied("Only auditors and superusers may read the audit log.")
    agencies = list(audited_agencies(user=request.user).only("code", "name"))
    form = EventFilterForm(request.GET or None, agencies=agencies)
    filters = EventFilters()
    query: dict[str, str] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = EventFilters(
            since=_start_of(data["since"]), until=_start_of(data["until"], plus_days=1), agency=data["agency"],
            action=data["action"], actor=data["actor"], object_type=data["object_type"],
            object_ref=data["object_ref"],
        )
        query = {key: str(value) for key, value in data.items() if value}
    events = event_list(user=request.user, filters=filters, newest_first=True) if not form.errors else \
        event_list(user=request.user, newest_first=True).none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    record(action=AuditAction.AUDIT_VIEWED, object_type="audit_log", object_ref="events",
           detail={"filters": filters.as_detail(), "page": page.number, "via": "browser"})
    export_base = reverse("audit-export")
    return render(request, "audit/event_list.html", {
        "form": form,
        "page": page,
        "events": page.object_list,
        "query": urlencode(query),
        "csv_url": f"{export_base}?{urlencode({'format': 'csv', **query})}",
        "jsonl_url": f"{export_base}?{urlencode({'format': 'jsonl', **query})}",
        "verification": last_verification(),
    })
