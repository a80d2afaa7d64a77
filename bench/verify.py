"""Benchmark: full verification of the audit chain (verify_audit), against baselines measured in the same run.

    python -m bench.verify --database sr_bench [--repeats 3]
    make bench BENCH_ARGS="--only verify --events 2000000"     # builds its own database first (bench/__main__.py)

The database must hold a sealed log (`python -m bench.generate --seal`), signed with this run's AUDIT_SIGNING_KEY
and witnessed in AUDIT_WITNESS_DIR (bench.db.production_env keeps both for every process of a run).

The machine this runs on may be shared, so every figure comes with baselines from the same run, alternated with the
verifications, and the load average before and after:

- `raw`: the walk's own query (audit.chain.walk_query) streamed through a server-side cursor with nothing done to
  the rows: what any Python reader of those rows pays (PostgreSQL producing them, psycopg2 making tuples);
- `copy`: the same query as `COPY ... TO STDOUT`, bytes thrown away: PostgreSQL's own rate, no Python per row;
- on a sample of rows already in memory, the two per-row costs of the walk itself: `encode` (audit.canonical, the
  one encoder) and `hash` (SHA-256 of the same bytes, the floor of any verifier);
- `single`: chain.verify() in one process; `parallel`: in AUDIT_VERIFY_PROCESSES ranges on one exported snapshot
  (what `manage.py verify_audit` runs).

Each rate is the best of --repeats runs. Prints one JSON line: the rates, the ratios to the baselines, the
microseconds a row costs in each step (where the time goes), the cores and the load.
"""

from __future__ import annotations

import hashlib
import io
import os
import time

from bench import db

SAMPLE = 200_000  # rows held in memory to time the encoder and the hash alone


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


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return len(data)


def _copy(sql: str, params: list) -> float:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off")
        raw = cursor.cursor
        query = raw.mogrify(sql, params).decode()
        started = time.perf_counter()
        raw.copy_expert(f"COPY ({query}) TO STDOUT", _Discard())
        return time.perf_counter() - started


def _per_row_costs(sql: str, params: list) -> dict:
    """Seconds a row for the encoder and for the hash alone, on SAMPLE rows already fetched."""
    from django.db import connection, transaction

    from audit.canonical import canonical_bytes_from_text

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT {SAMPLE}", params)
        rows = cursor.fetchall()
    started = time.perf_counter()
    encoded = [(row[2], canonical_bytes_from_text(*row[4:])) for row in rows]
    encode = (time.perf_counter() - started) / len(rows)
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for prev, canonical in encoded:
        sha256(prev.encode("ascii") + canonical).hexdigest()
    hashing = (time.perf_counter() - started) / len(rows)
    return {"encode": encode, "hash": hashing, "bytes": sum(len(c) for _, c in encoded) / len(encoded)}


def run(repeats: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from audit import chain

    load_before = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent, audit_auditseal, audit_auditcheckpoint")
    sql, params = chain.walk_query()
    best = {"raw": 0.0, "copy": 0.0, "single": 0.0, "parallel": 0.0}
    costs = {"encode": float("inf"), "hash": float("inf"), "bytes": 0.0}
    events, ok, summary = 0, True, ""
    for _ in range(repeats):
        count, seconds = _raw(sql, params)
        best["raw"] = max(best["raw"], count / seconds)
        best["copy"] = max(best["copy"], count / _copy(sql, params))
        sample = _per_row_costs(sql, params)
        costs = {key: min(costs[key], sample[key]) if key != "bytes" else sample[key] for key in costs}
        for name, processes in (("single", 1), ("parallel", settings.AUDIT_VERIFY_PROCESSES)):
            result = chain.verify(processes=processes)
            ok, summary = ok and result.ok, summary or ("" if result.ok else result.summary)
            events = result.events
            best[name] = max(best[name], result.events / result.seconds)
    load_after = os.getloadavg()
    micro = 1_000_000
    return {
        "events": events, "ok": ok, "summary": summary, "processes": settings.AUDIT_VERIFY_PROCESSES,
        "cores": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "raw_rows_per_s": round(best["raw"]), "copy_rows_per_s": round(best["copy"]),
        "single_per_s": round(best["single"]), "parallel_per_s": round(best["parallel"]),
        "encode_per_s": round(1 / costs["encode"]), "hash_per_s": round(1 / costs["hash"]),
        "single_ratio": round(best["single"] / best["raw"], 2),
        "parallel_ratio": round(best["parallel"] / best["raw"], 2),
        "parallel_vs_single": round(best["parallel"] / best["single"], 2),
        # Where one process's time goes, in microseconds a row: PostgreSQL alone (COPY), psycopg2's tuples on top
        # of it (raw - COPY), the canonical encoding, the hash; and what the walk costs beyond those (its checks).
        "us_per_row": {
            "postgres_copy": round(micro / best["copy"], 2),
            "fetch_tuples_beyond_copy": round(micro / best["raw"] - micro / best["copy"], 2),
            "encode": round(costs["encode"] * micro, 2), "hash": round(costs["hash"] * micro, 2),
            "walk_total_single": round(micro / best["single"], 2),
        },
        "canonical_bytes_per_event": round(costs["bytes"]),
    }


if __name__ == "__main__":
    db.main("verify", run, repeats=3, settings=None)
