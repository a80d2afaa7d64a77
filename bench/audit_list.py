"""The auditors' event list, first page, through the whole Django stack, over the whole log.

    python -m bench.audit_list --database sr_bench [--repeats 40]

An auditor sees the events that concern any agency they audit, through the agencies index
(audit_auditeventagency). Two auditors: one of `hub-city`, concerned by a tenth of all events, and one of a
small agency concerned by a few hundred, whose first page the database must find among all the others. Each
asks `/api/v1/audit/events/` with a token and `/audit/` signed in. The baseline is the same first page read
raw from the index in the same run.
"""

from __future__ import annotations

from bench import db
from bench.check import percentile
from bench.register import _measure, _timed


def run(repeats: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from agencies.models import Agency
    from audit.models import AuditEvent, AuditEventAgency

    out: dict = {"events": AuditEvent.objects.count()}
    small = Agency.objects.exclude(code="hub-city").order_by("pk").first()
    for label, code in (("hub", "hub-city"), ("small", small.code)):
        user = get_user_model().objects.get(username=f"{code}-auditor")
        api = APIClient()
        api.force_authenticate(user)
        page = Client()
        page.force_login(user)
        concerned = AuditEventAgency.objects.filter(agency_code=code).count()
        raw = connection.cursor().cursor

        def baseline(code=code, raw=raw) -> None:
            raw.execute("SELECT e.* FROM audit_auditevent e WHERE e.seq IN (SELECT seq FROM audit_auditeventagency "
                        "WHERE agency_code = %s ORDER BY seq DESC LIMIT 50) ORDER BY e.seq DESC", [code])
            raw.fetchall()

        out[label] = {"concerned": concerned, "api": _measure(api, "/api/v1/audit/events/", repeats),
                      "page": _measure(page, "/audit/", repeats),
                      "baseline_p95_ms": round(percentile(_timed(baseline, repeats), 95), 3)}
    return out


def main() -> None:
    db.main("audit_list", run, repeats=40)


if __name__ == "__main__":
    main()
