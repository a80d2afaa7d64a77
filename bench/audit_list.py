"""The auditors' event list, first page, through the whole Django stack, over the whole log.

    python -m bench.audit_list --database sr_bench [--repeats 40]

An auditor sees the events that concern any agency they audit, through the agencies index
(audit_auditeventagency). Two auditors: one of `hub-city`, concerned by a tenth of all events, and one of a
small agency concerned by a few hundred, whose first page the database must find among all the others. Each
asks `/api/v1/audit/events/` with a token and `/audit/` signed in. The baseline is the same first page read
raw from the index in the same run.
"""

from __future__ import annotations

import argparse
import json

from bench import db
from bench.check import percentile
from bench.register import _timed


def _measure(client, url: str, repeats: int) -> dict:
    from django.db import connection

    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    issued: list[str] = []

    def count(execute, sql, params, many, context):
        issued.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    timings = _timed(lambda: client.get(url), repeats)
    return {"p50_ms": round(percentile(timings, 50), 2), "p95_ms": round(percentile(timings, 95), 2),
            "queries": len(issued)}


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
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    db.use(args.database)
    import os

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    print(json.dumps({"bench": "audit_list", **run(args.repeats)}))


if __name__ == "__main__":
    main()
