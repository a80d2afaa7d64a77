"""Benchmark: full verification of the audit chain (verify_audit) against reading the same rows raw.

    python -m bench.verify --database sr_bench [--repeats 3]

The database must hold a sealed log (`python -m bench.generate --seal`), signed with this run's AUDIT_SIGNING_KEY
and witnessed in AUDIT_WITNESS_DIR (bench.db.production_env keeps both for every process of a run). The baseline,
measured in the same run between the verifications, is the walk's own query (audit.chain.walk_query) streamed
through a server-side cursor with nothing done to the rows: what any Python reader of those rows pays. The
verifications are chain.verify() in one process, and in AUDIT_VERIFY_PROCESSES parallel ranges on one snapshot
(what `manage.py verify_audit` runs). Each figure is the best of --repeats alternating runs (the machine is shared).
Prints one JSON line: events, rows/s of each, and the ratios to the baseline.
"""

from __future__ import annotations

import time

from bench import db


def _raw(sql: str, params: list) -> tuple[int, float]:
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off")
        cursor = connection.chunked_cursor()
        started = time.perf_counter()
        cursor.execute(sql, params)
        count = 0
        while rows := cursor.fetchmany(20_000):
            count += len(rows)
        seconds = time.perf_counter() - started
        cursor.close()
    return count, seconds


def run(repeats: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from audit import chain

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent, audit_auditseal, audit_auditcheckpoint")
    sql, params = chain.walk_query()
    best = {"raw": 0.0, "single": 0.0, "parallel": 0.0}
    events, ok, summary = 0, True, ""
    for _ in range(repeats):
        count, seconds = _raw(sql, params)
        best["raw"] = max(best["raw"], count / seconds)
        for name, processes in (("single", 1), ("parallel", settings.AUDIT_VERIFY_PROCESSES)):
            result = chain.verify(processes=processes)
            ok, summary = ok and result.ok, summary or ("" if result.ok else result.summary)
            events = result.events
            best[name] = max(best[name], result.events / result.seconds)
    return {
        "events": events, "ok": ok, "summary": summary, "processes": settings.AUDIT_VERIFY_PROCESSES,
        "raw_rows_per_s": round(best["raw"]), "single_per_s": round(best["single"]),
        "parallel_per_s": round(best["parallel"]),
        "single_ratio": round(best["single"] / best["raw"], 2),
        "parallel_ratio": round(best["parallel"] / best["raw"], 2),
    }


if __name__ == "__main__":
    db.main("verify", run, repeats=3, settings=None)
