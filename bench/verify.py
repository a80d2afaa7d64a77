"""Benchmark: full verification of the audit chain (verify_audit), against baselines measured in the same run.

    python -m bench.verify --database sr_bench [--repeats 3]
    make bench BENCH_ARGS="--only verify --events 2000000"     # builds its own database first (bench/__main__.py)

The database must hold a sealed log (`python -m bench.generate --seal`), signed with this run's AUDIT_SIGNING_KEY
and witnessed in AUDIT_WITNESS_DIR (bench.db.production_env keeps both for every process of a run).

The machine this runs on may be shared, so every figure comes with baselines from the same run, alternated with the
verifications, and the load average before and after:

- `raw`: the walk's own query (audit.chain.walk_query) streamed through a server-side cursor with nothing done to
  the rows: what a reader of psycopg2's tuples pays (PostgreSQL producing them, psycopg2 making tuples);
- `copy`: the same query as `COPY ... TO STDOUT`, bytes thrown away: PostgreSQL's own rate, no Python per row;
- `copy_py`: the same COPY handed to a Python function a row that does nothing: what the walk pays to read (it
  reads this way);
- on a sample of COPY rows already in memory, the two per-row costs of the walk itself: `encode` (audit.canonical's
  canonical_bytes_from_copy: the template, or column by column) and `hash` (SHA-256 of the same bytes, the floor of
  any verifier);
- `single`: chain.verify() in one process; `parallel`: in AUDIT_VERIFY_PROCESSES ranges on one exported snapshot
  (what `manage.py verify_audit` runs). For `single`, the CPU time a row costs this process and its PostgreSQL
  backend (from /proc, when the server runs on this machine): unlike rates, that does not depend on the load.

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


class _Calls:
    """A COPY sink that hands each row to a Python function that does nothing (as the walk's sink hands it on)."""

    def __init__(self) -> None:
        self.write = self.ignore

    def ignore(self, data: bytes) -> None:
        pass


def _copy(sql: str, params: list, sink: object) -> float:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off")
        raw = cursor.cursor
        query = raw.mogrify(sql, params).decode()
        started = time.perf_counter()
        raw.copy_expert(f"COPY ({query}) TO STDOUT", sink)
        return time.perf_counter() - started


def _per_row_costs(sql: str, params: list) -> dict:
    """Seconds a row for the encoder and for the hash alone, on SAMPLE COPY rows already read."""
    from audit.canonical import canonical_bytes_from_copy, copy_canonical

    lines: list[bytes] = []

    class Keep:
        write = lines.append

    _copy(f"{sql} LIMIT {SAMPLE}", params, Keep())
    started = time.process_time()
    encoded = [(line.split(b"\t", 3)[2], canonical_bytes_from_copy(line)) for line in lines]
    encode = (time.process_time() - started) / len(lines)
    sha256 = hashlib.sha256
    started = time.process_time()
    for prev, canonical in encoded:
        sha256(prev + canonical).hexdigest()
    hashing = (time.process_time() - started) / len(lines)
    plain = sum(copy_canonical(line)[-1] is not None for line in lines) / len(lines)
    return {"encode": encode, "hash": hashing, "bytes": sum(len(c) for _, c in encoded) / len(encoded),
            "plain": plain}


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a process on this machine (a PostgreSQL backend), None if it is not here."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _single(chain) -> tuple[object, float | None, float | None]:
    """chain.verify() in one process, with the CPU seconds it cost this process and its backend."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    backend = _cpu_seconds(pid)
    started = time.process_time()
    result = chain.verify(processes=1)
    python = time.process_time() - started
    after = _cpu_seconds(pid)
    return result, python, None if backend is None or after is None else after - backend


def run(repeats: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from audit import chain

    load_before = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent, audit_auditseal, audit_auditcheckpoint")
    sql, params = chain.walk_query()
    best = {"raw": 0.0, "copy": 0.0, "copy_py": 0.0, "single": 0.0, "parallel": 0.0}
    costs = {"encode": float("inf"), "hash": float("inf"), "bytes": 0.0, "plain": 0.0}
    cpu = {"python": float("inf"), "postgres": float("inf")}
    events, ok, summary = 0, True, ""
    for _ in range(repeats):
        count, seconds = _raw(sql, params)
        best["raw"] = max(best["raw"], count / seconds)
        best["copy"] = max(best["copy"], count / _copy(sql, params, _Discard()))
        best["copy_py"] = max(best["copy_py"], count / _copy(sql, params, _Calls()))
        sample = _per_row_costs(sql, params)
        costs = {key: min(costs[key], sample[key]) if key in ("encode", "hash") else sample[key] for key in costs}
        for name, processes in (("single", 1), ("parallel", settings.AUDIT_VERIFY_PROCESSES)):
            if processes == 1:
                result, python, backend = _single(chain)
                if result.events:
                    cpu["python"] = min(cpu["python"], python / result.events)
                    cpu["postgres"] = min(cpu["postgres"], backend / result.events if backend is not None else 0.0)
            else:
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
        "copy_py_rows_per_s": round(best["copy_py"]),
        "single_per_s": round(best["single"]), "parallel_per_s": round(best["parallel"]),
        "encode_per_s": round(1 / costs["encode"]), "hash_per_s": round(1 / costs["hash"]),
        "single_ratio": round(best["single"] / best["raw"], 2),
        "parallel_ratio": round(best["parallel"] / best["raw"], 2),
        "parallel_vs_single": round(best["parallel"] / best["single"], 2),
        # Where one process's time goes, in microseconds a row: PostgreSQL alone (COPY), psycopg2's tuples on top
        # of it (raw - COPY; the walk no longer makes them), a Python call a COPY row on top of it (what the walk
        # pays to read), the canonical encoding, the hash; and the walk's wall time a row.
        "us_per_row": {
            "postgres_copy": round(micro / best["copy"], 2),
            "fetch_tuples_beyond_copy": round(micro / best["raw"] - micro / best["copy"], 2),
            "copy_calls_beyond_copy": round(micro / best["copy_py"] - micro / best["copy"], 2),
            "encode": round(costs["encode"] * micro, 2), "hash": round(costs["hash"] * micro, 2),
            "walk_total_single": round(micro / best["single"], 2),
        },
        # CPU a row of one process's walk: the process and its PostgreSQL backend (0 when the server is elsewhere).
        # Two cores reach 200,000/s only if the two together stay under 10 us.
        "cpu_us_per_row_single": {"python": round(cpu["python"] * micro, 2),
                                  "postgres": round(cpu["postgres"] * micro, 2)},
        "canonical_bytes_per_event": round(costs["bytes"]),
        "rows_by_template": round(costs["plain"], 4),
    }


if __name__ == "__main__":
    db.main("verify", run, repeats=3, settings=None)
