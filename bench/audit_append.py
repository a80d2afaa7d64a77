"""Benchmark: appending audit events from 4 concurrent writers on PostgreSQL, then verifying the chain.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.audit_append [--seconds 10]
        [--database sr_bench_audit] [--verify-events 1000000] [--incremental-events 50000]

It creates its own database (--database, sr_bench_audit by default, dropped first and afterwards) on the server
DATABASE_URL names and touches no other. The witness is on: every checkpoint is appended and fsynced to a temporary
AUDIT_WITNESS_DIR shared by the writers and the sealer, as in production. Appends go through audit.services.record()
(one transaction per event, as a request would) while a sealer process seals every AUDIT_SEAL_INTERVAL_SECONDS, as
beat does in production. The baseline, measured in the same run, is a plain psycopg2 INSERT of the same row into an
un-triggered copy of the table. Then the whole log is sealed and verified, after topping it up to --verify-events
rows: in one process (the baseline) and in parallel position ranges on one snapshot (AUDIT_VERIFY_PROCESSES); then
--incremental-events more are added and verified incrementally, from the last verified witnessed checkpoint.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time
from urllib.parse import urlparse, urlunparse

import psycopg2

from audit.canonical import canonical_json

BENCH_DB = "sr_bench_audit"
WRITERS = 4
DETAIL = {"purpose": "Discharge planning", "provider": "mft", "recipient": "manchester-cc", "legal_bases":
          ["ukgdpr-6-1-e", "ukgdpr-9-2-h"], "allowed": True}

AGENCIES = ["manchester-cc", "mft"]

def _url_for(url: str, dbname: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{dbname}"))


def _admin(url: str):
    conn = psycopg2.connect(_url_for(url, "postgres"))
    conn.autocommit = True
    return conn


def _setup_django(url: str, key: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["AUDIT_SIGNING_KEY"] = key
    os.environ["AUDIT_SEAL_ON_COMMIT"] = "0"  # production shape: writers never seal
    os.environ.setdefault("DEBUG", "0")  # as in production: no query log per cursor
    os.environ.setdefault("SECRET_KEY", "bench-audit-append")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")
    import django

    django.setup()


def _audit_writer(url: str, key: str, seconds: float, ready, go, out) -> None:
    _setup_django(url, key)
    from audit.choices import AuditAction
    from audit.services import record

    ready.put(True)
    go.wait()
    deadline = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < deadline:
        # As a check is: it concerns the provider and the recipient (the agencies index gets two rows).
        record(action=AuditAction.CHECK_ALLOWED, object_type="dataset", object_ref=f"mft-discharge-{count}",
               agencies=AGENCIES, detail=DETAIL)
        count += 1
    out.put(count)


def _plain_writer(url: str, seconds: float, ready, go, out) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cursor = conn.cursor()
    detail = canonical_json(DETAIL)
    ready.put(True)
    go.wait()
    deadline = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < deadline:
        cursor.execute(
            "INSERT INTO bench_plain_event (at, actor_name, agency_code, action, object_type, object_ref, detail, "
            "request_id, client_ip, agencies) VALUES (now(), 'system', '', 'check.allowed', 'dataset', %s, %s, '', "
            "NULL, %s)",
            [f"mft-discharge-{count}", detail, json.dumps(AGENCIES)],
        )
        count += 1
    out.put(count)


def _sealer(url: str, key: str, stop, interval: float, out) -> None:
    _setup_django(url, key)
    from audit.chain import seal_pending

    sealed = 0
    while not stop.is_set():
        sealed += seal_pending().sealed
        stop.wait(interval)
    out.put(sealed)


def _race(target, args_for, seconds: float) -> float:
    """Run WRITERS processes for `seconds`; returns events per second."""
    ctx = mp.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=target, args=(*args_for, seconds, ready, go, out)) for _ in range(WRITERS)]
    for proc in procs:
        proc.start()
    for _ in procs:  # every process has imported Django and connected: start the clock together
        ready.get()
    go.set()
    total = sum(out.get() for _ in procs)
    for proc in procs:
        proc.join()
    return total / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--verify-events", type=int, default=1_000_000,
                        help="top the log up to this many events before timing verify")
    parser.add_argument("--incremental-events", type=int, default=50_000,
                        help="events added after the full verification, then verified incrementally")
    parser.add_argument("--database", default=BENCH_DB, help="the database to create, use and drop")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    import tempfile

    witness_dir = tempfile.mkdtemp(prefix="sr-bench-witness-")
    os.environ["AUDIT_WITNESS_DIR"] = witness_dir  # inherited by the writer and sealer processes
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database there).")
        return 2
    bench_db = args.database
    url = _url_for(base, bench_db)
    key = os.environ.get("AUDIT_SIGNING_KEY") or base64.b64encode(os.urandom(32)).decode()
    admin = _admin(base)
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {bench_db} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {bench_db}")
        # One commit per event on both sides; without this, both measure the disk's fsync rate, not the code.
        cursor.execute(f"ALTER DATABASE {bench_db} SET synchronous_commit = off")
    try:
        return _run(args, url, key)
    finally:
        if not args.keep:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {bench_db} WITH (FORCE)")
        admin.close()
        import shutil

        shutil.rmtree(witness_dir, ignore_errors=True)


def _run(args, url: str, key: str) -> int:
    _setup_django(url, key)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from audit.chain import seal_pending, verify

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain_event (LIKE audit_auditevent INCLUDING ALL)")
    connection.close()

    print(f"PostgreSQL, {WRITERS} writer processes, {args.seconds:.0f} s each phase, one transaction per event, "
          "synchronous_commit off on both sides")
    baseline = _race(_plain_writer, (url,), args.seconds)
    print(f"  baseline: plain INSERT, no triggers, no ORM   {baseline:10,.0f} events/s")

    ctx = mp.get_context("spawn")
    stop, sealed_out = ctx.Event(), ctx.Queue()
    sealer = ctx.Process(target=_sealer, args=(url, key, stop, settings.AUDIT_SEAL_INTERVAL_SECONDS, sealed_out))
    sealer.start()
    appended = _race(_audit_writer, (url, key), args.seconds)
    stop.set()
    sealed_meanwhile = sealed_out.get()
    sealer.join()
    print(f"  audit.services.record() + background sealer   {appended:10,.0f} events/s   "
          f"(ratio {appended / baseline:.2f} of baseline; target >= 3,000 events/s)")
    print(f"  sealed while writing                          {sealed_meanwhile:10,} events")

    started = time.perf_counter()
    left = seal_pending(full=True, force_checkpoint=True).sealed
    print(f"  sealing the rest took {time.perf_counter() - started:.2f} s for {left:,} events")
    result = verify()
    if not result.ok:
        print(f"  chain INVALID after the run: {result.summary}")
        return 1
    print(f"  chain valid after the run: {result.summary}")

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        have = cursor.fetchone()[0]
        extra = max(0, args.verify_events - have)
        if extra:
            cursor.execute(
                "INSERT INTO audit_auditevent (at, actor_name, agency_code, action, object_type, object_ref, detail, "
                "request_id, agencies) SELECT clock_timestamp(), 'system', '', 'check.allowed', 'dataset', "
                "'ds-' || g, %s, '', %s FROM generate_series(1, %s) g",
                [canonical_json(DETAIL), json.dumps(AGENCIES), extra],
            )
    if extra:
        started = time.perf_counter()
        sealed = seal_pending(full=True, force_checkpoint=True).sealed
        seconds = time.perf_counter() - started
        print(f"  sealer: {sealed:,} more events in {seconds:.2f} s   {sealed / seconds:10,.0f} events/s")
    from audit.services import verification_run
    from audit.witness import read as witnessed

    with connection.cursor() as cursor:  # what autovacuum does after a bulk load: plans then match the data
        cursor.execute("ANALYZE audit_auditevent, audit_auditseal, audit_auditcheckpoint")

    print(f"  witness: {len(witnessed()):,} checkpoints appended and fsynced to AUDIT_WITNESS_DIR")
    single = verify(processes=1)
    single_rate = single.events / single.seconds
    print(f"  verify, full, 1 process (baseline): {single.summary} in {single.seconds:.2f} s   "
          f"{single_rate:10,.0f} events/s")
    result = verification_run()  # full, parallel ranges on one exported snapshot; kept as the incremental anchor
    rate = result.events / result.seconds
    print(f"  verify, full, {settings.AUDIT_VERIFY_PROCESSES} processes on one snapshot: {result.summary} in "
          f"{result.seconds:.2f} s   {rate:10,.0f} events/s   (ratio {rate / single_rate:.2f}; target >= 200,000)")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (at, actor_name, agency_code, action, object_type, object_ref, detail, "
            "request_id, agencies) SELECT clock_timestamp(), 'system', '', 'check.allowed', 'dataset', 'new-' || g, "
            "%s, '', %s FROM generate_series(1, %s) g",
            [canonical_json(DETAIL), json.dumps(AGENCIES), args.incremental_events],
        )
    seal_pending(full=True, force_checkpoint=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent, audit_auditseal, audit_auditcheckpoint")
    incremental = verification_run(incremental=True)
    print(f"  verify, incremental ({incremental.kind} from position {incremental.from_position:,}): "
          f"{incremental.summary} in {incremental.seconds:.2f} s ({incremental.seconds / result.seconds:.3f} of the "
          "full run's time)")
    limits = _verify_limits()
    print(f"  what bounds verify: PostgreSQL producing the walk's rows (COPY) {limits['copy']:,.0f}/s; psycopg2 "
          f"fetching them, no hashing {limits['fetch']:,.0f}/s; hashing and checks alone {limits['hash']:,.0f}/s")
    print(json.dumps({"bench": "audit_append", "writers": WRITERS, "events_per_s": round(appended),
                      "baseline_per_s": round(baseline), "chain_valid": True, "verify_events": result.events,
                      "verify_per_s": round(rate), "verify_ok": result.ok and single.ok and incremental.ok,
                      "verify_single_per_s": round(single_rate), "incremental_events": incremental.events,
                      "incremental_seconds": round(incremental.seconds, 3), "full_seconds": round(result.seconds, 3),
                      **{f"verify_{k}_per_s": round(v) for k, v in limits.items()}}))
    return 0 if result.ok else 1


def _verify_limits() -> dict[str, float]:
    """What bounds verify, measured on the same rows: the server alone, the driver alone, the hashing alone."""
    from django.db import connection, transaction

    from audit import chain
    from audit.canonical import canonical_bytes_from_row

    sql, params = chain.walk_query()

    class Sink:
        def write(self, data) -> None:
            pass

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off")
            statement = cursor.mogrify(sql, params).decode()
        raw = connection.cursor().cursor
        started = time.perf_counter()
        raw.copy_expert(f"COPY ({statement}) TO STDOUT", Sink())
        copy = time.perf_counter() - started
        started = time.perf_counter()
        rows = [row for batch in chain._stream_batches(sql, params) for row in batch]
        fetch = time.perf_counter() - started
    started = time.perf_counter()
    sha256 = hashlib.sha256
    for row in rows:
        canonical = canonical_bytes_from_row(row)
        if sha256(row[2].encode("ascii") + canonical).hexdigest() != row[3]:
            raise SystemExit(f"seq {row[1]} does not hash as sealed")
    hashing = time.perf_counter() - started
    return {"copy": len(rows) / copy, "fetch": len(rows) / fetch, "hash": len(rows) / hashing}


if __name__ == "__main__":
    sys.exit(main())
