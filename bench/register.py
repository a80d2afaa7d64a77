"""The register list, first page, through the whole Django stack, for a member of the busiest agency.

    python -m bench.register --database sr_bench [--repeats 60]

`hub-city` is a party to a tenth of all agreements (bench.generate). Its frontline user lists
`/api/v1/agreements/?agency=hub-city` (the agreements they see in full) and `/api/v1/agreements/`
(everything visible: those plus every active agreement's summary), with an API token; and the first again
signed in with a session, which adds the session's own queries (read, user, and the save on every request
that makes the timeout one of inactivity). The baseline is one raw SELECT of the same page of agreements
in the register's order, measured in the same run. `visible` is how many agreements each list holds, counted in
full once outside the timings (the page itself counts up to 1,000).
"""

from __future__ import annotations

import time

from bench import db
from bench.check import percentile


def _timed(fn, repeats: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


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
    figures = {"p50_ms": round(percentile(timings, 50), 2), "p95_ms": round(percentile(timings, 95), 2),
               "queries": len(issued)}
    if response.get("Content-Type", "").startswith("application/json"):  # a list: the count it shows
        body = response.json()
        figures["count"], figures["count_exact"] = body["count"], body.get("count_exact", True)
    return figures


def run(repeats: int) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from agreements.models import Agreement
    from tokens.models import ApiToken

    user = get_user_model().objects.get(username="hub-city-frontline")
    _, key = ApiToken.objects.create(user=user, expiry=timedelta(days=1), name="Benchmark")
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")  # another system calling the API
    browser = Client()  # a signed-in person: the session is read, and saved on every request (idle timeout)
    browser.force_login(user)
    results: dict = {}
    from agreements.selectors import agreement_search
    from bench.sealer import Sealer

    # Each request writes an audit event. Beat seals them in production; without it, the process that wrote them
    # seals and signs them itself a few seconds later (audit.chain's backstop), in a thread that would land on the
    # timings here. So a separate process seals, as beat does.
    with Sealer():
        for label, url, filters in [("own_agency", "/api/v1/agreements/?agency=hub-city", {"agency": "hub-city"}),
                                    ("all_visible", "/api/v1/agreements/", {})]:
            results[label] = _measure(api, url, repeats)
            # How many they see, counted in full once (the page counts only up to 1,000 and says "more"), part by
            # part as page "last" counts them.
            parts = agreement_search(user=user, filters=filters).parts(probe=False)
            results[label]["visible"] = sum(part.count() for part in parts)
        results["own_agency_session"] = _measure(browser, "/api/v1/agreements/?agency=hub-city", repeats)
    raw = connection.cursor().cursor
    table = Agreement._meta.db_table

    def baseline() -> None:
        raw.execute(f"SELECT * FROM {table} ORDER BY created_at DESC, id DESC LIMIT 50")  # noqa: S608
        raw.fetchall()

    results["baseline_p95_ms"] = round(percentile(_timed(baseline, repeats), 95), 3)
    return results


def main() -> None:
    db.main("register", run, repeats=60, settings=None)


if __name__ == "__main__":
    main()
