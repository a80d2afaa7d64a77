"""The audit export (CSV) through gunicorn, against `COPY (the same query) TO STDOUT WITH CSV`, with the memory
of the serving process watched throughout.

    python -m bench.export --database sr_bench

One gunicorn worker serves a superuser's unfiltered export (every event); this process reads the stream from
127.0.0.1 and samples the worker's resident set size (/proc) every 10 ms. The baseline, measured in the same
run between the exports, is PostgreSQL's own COPY of the query the export runs, read through psycopg2 (and, for
reference, COPY of the plain columns without the SQL formatting). Prints one JSON line: rows, rows/s of each and
the ratios, and the worker's peak memory growth over its size before the export.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

from bench import db


class _Sink:
    def __init__(self):
        self.lines = 0
        self.bytes = 0

    def write(self, data) -> int:
        self.lines += data.count(b"\n" if isinstance(data, bytes) else "\n")
        self.bytes += len(data)
        return len(data)


def _copy_rate(user, shape: str) -> tuple[int, float]:
    """COPY through psycopg2 of the query the CSV export runs (`export`: every cell formatted in SQL), or of the
    plain columns the JSONL export reads (`plain`). Returns (rows, seconds)."""
    from django.db import connection

    from audit import export
    from audit.selectors import event_list

    events = event_list(user=user)
    query = export.copy_queryset(events) if shape == "export" else export.rows_queryset(events)
    sql, params = query.query.sql_with_params()
    raw = connection.cursor().cursor
    statement = raw.mogrify(sql, params).decode()
    sink = _Sink()
    started = time.perf_counter()
    raw.copy_expert(f"COPY ({statement}) TO STDOUT WITH CSV", sink)
    return sink.lines, time.perf_counter() - started


def _export(port: int, token: str, query: str, worker: int) -> dict:
    from bench.server import rss_kib

    before = rss_kib(worker)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(worker))
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", f"/api/v1/audit/export/?{query}", headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    assert response.status == 200, response.read()[:500]
    sink = _Sink()
    while chunk := response.read(1 << 16):
        sink.write(chunk)
    seconds = time.perf_counter() - started
    conn.close()
    done.set()
    sampler.join()
    return {"rows": sink.lines - 1, "seconds": seconds, "rss_before_kib": before, "rss_peak_kib": peak[0],
            "mb": sink.bytes / 1e6}


def run() -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model

    from bench.server import Server
    from tokens.models import ApiToken

    user, _ = get_user_model().objects.get_or_create(username="bench-superuser",
                                                     defaults={"is_superuser": True, "is_staff": True})
    _, key = ApiToken.objects.create(user=user, expiry=timedelta(days=1), name="Benchmark")
    # COPY, export, COPY, export, COPY: on a shared machine both see the same drift.
    copies = {"export": [], "plain": []}
    exports = []

    def copy_round() -> None:
        for shape in copies:
            copies[shape].append(_copy_rate(user, shape))

    copy_round()
    with Server(workers=1) as server:
        worker = server.worker_pids()[0]
        _export(server.port, key, "format=csv&action=agreement.approved", worker)  # warm the worker
        for _ in range(2):
            exports.append(_export(server.port, key, "format=csv", worker))
            copy_round()
    rows = exports[0]["rows"]
    rate = sum(e["rows"] for e in exports) / sum(e["seconds"] for e in exports)
    copy_rate = {shape: sum(r for r, _ in runs) / sum(t for _, t in runs) for shape, runs in copies.items()}
    growth = max(e["rss_peak_kib"] - e["rss_before_kib"] for e in exports)
    return {
        "rows": rows, "copy_rows": copies["export"][0][0], "megabytes": round(exports[0]["mb"], 1),
        "export_rows_per_s": round(rate), "copy_rows_per_s": round(copy_rate["export"]),
        "ratio": round(rate / copy_rate["export"], 2),
        "copy_plain_rows_per_s": round(copy_rate["plain"]), "ratio_plain": round(rate / copy_rate["plain"], 2),
        "rss_before_mb": round(exports[0]["rss_before_kib"] / 1024, 1), "rss_growth_mb": round(growth / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    db.use(args.database)
    import django

    django.setup()
    print(json.dumps({"bench": "export", **run()}))


if __name__ == "__main__":
    main()
