"""`make bench`: build fresh PostgreSQL databases, run every benchmark, print one table with targets.

    python -m bench            # a size that finishes in under 10 minutes on a 2-core machine
    python -m bench --full     # 10,000 agencies, 100,000 agreements, 1,000,000 audit events
    python -m bench --keep     # reuse the sr_bench* databases of an earlier run of the same size
    python -m bench --only verify --events 2000000   # just full verification, on a log of that many events

Each benchmark runs in its own process (Django is set up once per process and per database) and prints
one JSON line; timings are compared with a baseline measured in the same run, because the machine is
shared and noisy. HTTP load comes from separate client processes, only to 127.0.0.1, bounded in time and
in requests. Settings are production's (DEBUG off, writers never sealing, a background sealer where
events are written); see bench/db.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import db

ROOT = Path(__file__).resolve().parent.parent
SIZES = {
    "quick": {"agencies": 2_000, "agreements": 20_000, "events": 200_000},
    "full": {"agencies": 10_000, "agreements": 100_000, "events": 1_000_000},
}
SMALL = {"agencies": 1_000, "agreements": 1_000, "events": 10_000}


def _env(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL"}}
    env.update(DATABASE_URL=db.url_for(database))
    # DEBUG off, as in production; the database's own signing key and witness. As in production, where beat seals
    # every 2 s, requests do not seal the chain themselves.
    db.production_env(env)
    db.audit_env(database, env)
    return env


def _run(args: list[str], database: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(database), capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"benchmark step failed: {' '.join(args)}")
    return result.stdout


def build(database: str, size: dict[str, int]) -> None:
    db.recreate(database)
    _run(["manage.py", "migrate", "--noinput", "-v0"], database)
    started = time.perf_counter()
    _run(["-m", "bench.generate", "--seal", *[f"--{k}={v}" for k, v in size.items()]], database)
    print(f"  built {database} ({', '.join(f'{v:,} {k}' for k, v in size.items())}) "
          f"in {time.perf_counter() - started:.0f}s", flush=True)


def measure(module: str, database: str, *extra: str) -> dict:
    print(f"  running {module} on {database}", flush=True)
    out = _run(["-m", module, "--database", database, *extra], database)
    return json.loads(out.strip().splitlines()[-1])


def measure_audit_append(size: dict[str, int]) -> dict:
    """bench.audit_append makes (and drops) its own database, sr_bench_audit, on the same server."""
    print("  running bench.audit_append on sr_bench_audit", flush=True)
    env = _env("postgres")
    result = subprocess.run(
        [sys.executable, "-m", "bench.audit_append", "--seconds", "8", "--verify-events", str(size["events"])],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit("benchmark step failed: bench.audit_append")
    return json.loads(result.stdout.strip().splitlines()[-1])


def table(rows: list[tuple[str, str, str, bool | None]]) -> str:
    widths = [max(len(r[i]) for r in rows + [("measure", "figure", "target", None)]) for i in range(3)]
    lines = [f"{'measure':<{widths[0]}}  {'figure':<{widths[1]}}  {'target':<{widths[2]}}  met"]
    lines.append("-" * (sum(widths) + 10))
    for name, figure, target, ok in rows:
        mark = "yes" if ok else ("NO" if ok is False else "-")
        lines.append(f"{name:<{widths[0]}}  {figure:<{widths[1]}}  {target:<{widths[2]}}  {mark}")
    return "\n".join(lines)


def verify_only(events: int, *, keep: bool, repeats: int) -> None:
    """Full verification alone (bench.verify), on sr_bench_verify: `events` sealed events and as few agencies and
    agreements as make them realistic, so that 2 million events build and verify in a few minutes. The database keeps
    its own signing key and witness from its build to any --keep run (bench.db.audit_env)."""
    db.production_env()
    began = time.perf_counter()
    database = "sr_bench_verify"
    print(f"Sharing Registry: full verification of {events:,} audit events on {os.cpu_count()} cores, load "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if not keep:
        build(database, {"agencies": 1_000, "agreements": 2_000, "events": events})
    verify = measure("bench.verify", database, "--repeats", str(repeats))
    rows = [
        (f"verify_audit, full, {verify['processes']} ranges on one snapshot ({verify['events']:,} events)",
         f"{verify['parallel_per_s']:,} ev/s", ">= 200,000", verify["parallel_per_s"] >= 200_000 and verify["ok"]),
        ("  the same vs the walk's rows read raw (one process)", f"{verify['parallel_ratio']:.2f}x", "-", None),
        ("  one process", f"{verify['single_per_s']:,} ev/s ({verify['single_ratio']:.2f}x raw)", "-", None),
        ("  parallel vs one process", f"{verify['parallel_vs_single']:.2f}x", "-", None),
        ("  baselines: raw rows / COPY / COPY to a Python call / encode only / SHA-256 only",
         f"{verify['raw_rows_per_s']:,} / {verify['copy_rows_per_s']:,} / {verify['copy_py_rows_per_s']:,} / "
         f"{verify['encode_per_s']:,} / {verify['hash_per_s']:,} per s", "-", None),
        ("  us a row: COPY / tuples beyond COPY / calls beyond COPY / encode / hash / whole walk",
         " / ".join(f"{v:.2f}" for v in verify["us_per_row"].values()), "-", None),
        ("  CPU us a row, one process: Python / its PostgreSQL backend (2 cores: 200k/s needs < 10 together)",
         " / ".join(f"{v:.2f}" for v in verify["cpu_us_per_row_single"].values()), "-", None),
        ("  rows whose canonical form came from the template", f"{verify['rows_by_template']:.1%}", "-", None),
        ("  load average before / after", f"{verify['load_before'][0]:.2f} / {verify['load_after'][0]:.2f}", "-",
         None),
    ]
    print()
    print(f"{verify['events']:,} audit events on {verify['cores']} cores; {time.perf_counter() - began:.0f} s in all")
    print(table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the benchmark suite against PostgreSQL.")
    parser.add_argument("--full", action="store_true", help="10k agencies, 100k agreements, 1M events")
    parser.add_argument("--keep", action="store_true", help="reuse sr_bench databases built by an earlier run")
    parser.add_argument("--only", choices=["verify"], help="run one benchmark only, on a database of its own")
    parser.add_argument("--events", type=int, help="audit events to generate (with --only verify: default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="with --only verify: runs of each measure, best kept")
    args = parser.parse_args()
    if args.only == "verify":
        verify_only(args.events or 1_000_000, keep=args.keep, repeats=args.repeats)
        return
    size = SIZES["full" if args.full else "quick"]
    db.production_env()  # one secret key for every process of this run
    began = time.perf_counter()
    print(f"Sharing Registry benchmarks on {os.cpu_count()} cores", flush=True)
    if not args.keep:
        build("sr_bench_small", SMALL)
        build("sr_bench", size)

    rows: list[tuple[str, str, str, bool | None]] = []
    # The check is measured twice at each size, alternately, and the better run of each kept: the least disturbed
    # estimate on a shared machine (each run's floor is its own, so the ratios stay within one run).
    runs = {"big": [], "small": []}
    for _ in range(2):
        runs["big"].append(measure("bench.check", "sr_bench"))
        runs["small"].append(measure("bench.check", "sr_bench_small"))
    big, small = (min(r, key=lambda run: run["p95_ms"]) for r in (runs["big"], runs["small"]))
    rows.append(("check in-process p95 (decision + audit write)", f"{big['p95_ms']:.2f} ms", "<= 5 ms",
                 big["p95_ms"] <= 5))
    rows.append(("check queries (most), incl. the audit write", str(big["max_queries"]), "<= 3",
                 big["max_queries"] <= 3))
    rows.append(("check p95 vs raw psycopg2 floor (same statements)", f"{big['ratio_to_floor']:.2f}x", "<= 2x",
                 big["ratio_to_floor"] <= 2))
    rows.append(("  p50 vs floor p50", f"{big['ratio_p50']:.2f}x", "-", None))
    curve = big["p95_ms"] / small["p95_ms"]
    rows.append((f"check p95 at {size['agreements']:,} vs {SMALL['agreements']:,} agreements", f"{curve:.2f}x",
                 "<= 1.5x", curve <= 1.5))

    http = measure("bench.check_http", "sr_bench")
    rows.append(("check over HTTP (gunicorn) vs bare DRF token endpoint", f"{http['ratio']:.2f}x", ">= 0.6x",
                 http["ratio"] >= 0.6))
    rows.append(("  requests/s: check / baseline", f"{http['check']['rps']:.0f} / {http['baseline']['rps']:.0f}",
                 "-", None))
    rows.append(("  CPU ms/request app+db: check / baseline",
                 f"{http['check']['app_cpu_ms']:.1f}+{http['check']['db_cpu_ms']:.1f} / "
                 f"{http['baseline']['app_cpu_ms']:.1f}+{http['baseline']['db_cpu_ms']:.1f}", "-", None))

    register = measure("bench.register", "sr_bench")
    for label, title in [("own_agency", "register first page (API token), member of hub agency, its agreements"),
                         ("all_visible", "register first page (API token), everything visible to that member")]:
        figure = register[label]
        rows.append((f"{title}: p95, {figure['visible']:,} rows", f"{figure['p95_ms']:.1f} ms", "<= 100 ms",
                     figure["p95_ms"] <= 100))
        rows.append(("  vs the raw page query", f"{figure['p95_ms'] / register['baseline_p95_ms']:.0f}x", "-", None))
        rows.append((f"{title}: queries", str(figure["queries"]), "<= 6", figure["queries"] <= 6))
    session = register["own_agency_session"]
    rows.append(("  the same signed in with a session: p95, queries (session read, user, save)",
                 f"{session['p95_ms']:.1f} ms, {session['queries']}", "-", None))
    rows.append(("  baseline: raw SELECT of one page", f"{register['baseline_p95_ms']:.2f} ms", "-", None))

    dashboard = measure("bench.dashboard", "sr_bench")
    rows.append(("dashboard, governance officer of hub agency: p95", f"{dashboard['p95_ms']:.1f} ms", "<= 150 ms",
                 dashboard["p95_ms"] <= 150))

    audit_list = measure("bench.audit_list", "sr_bench")
    for label, who in (("hub", "an auditor of the hub agency"), ("small", "an auditor of a small agency")):
        figure = audit_list[label]
        rows.append((f"audit event list over {audit_list['events']:,} events, {who} ({figure['concerned']:,} "
                     f"theirs): API p95, queries", f"{figure['api']['p95_ms']:.1f} ms, {figure['api']['queries']}",
                     "<= 100 ms", figure["api"]["p95_ms"] <= 100))
        rows.append(("  the same, the auditors' page /audit/: p95, queries",
                     f"{figure['page']['p95_ms']:.1f} ms, {figure['page']['queries']}", "<= 100 ms",
                     figure["page"]["p95_ms"] <= 100))
        rows.append(("  baseline: the first page read raw from the agencies index",
                     f"{figure['baseline_p95_ms']:.2f} ms", "-", None))

    export = measure("bench.export", "sr_bench")
    rows.append((f"audit CSV export vs COPY of the same query ({export['rows']:,} rows)", f"{export['ratio']:.2f}x",
                 ">= 0.5x", export["ratio"] >= 0.5))
    rows.append(("  rows/s: export / COPY same query / COPY plain columns",
                 f"{export['export_rows_per_s']:,} / {export['copy_rows_per_s']:,} / "
                 f"{export['copy_plain_rows_per_s']:,}", "-", None))
    rows.append(("audit export: peak RSS growth of the gunicorn worker", f"{export['rss_growth_mb']:.1f} MB",
                 "< 100 MB", export["rss_growth_mb"] < 100))

    audit = measure_audit_append(size)
    rows.append(("audit append, 4 writers, background sealer, witness on, chain valid after",
                 f"{audit['events_per_s']:,} ev/s", ">= 3,000", audit["events_per_s"] >= 3000 and audit["chain_valid"]))
    rows.append(("  baseline: plain INSERT, no triggers, no ORM", f"{audit['baseline_per_s']:,} ev/s", "-", None))
    rows.append((f"verify_audit, full, parallel ranges on one snapshot ({audit['verify_events']:,} events)",
                 f"{audit['verify_per_s']:,} ev/s", ">= 200,000",
                 audit["verify_per_s"] >= 200_000 and audit["verify_ok"]))
    rows.append(("  baseline: the same walk in one process", f"{audit['verify_single_per_s']:,} ev/s", "-", None))
    rows.append((f"verify_audit --incremental ({audit['incremental_events']:,} new events)",
                 f"{audit['incremental_seconds']:.2f} s", f"< full ({audit['full_seconds']:.2f} s)",
                 audit["incremental_seconds"] < audit["full_seconds"]))
    rows.append(("  limits: rows from PostgreSQL (COPY) / psycopg2 fetch only / hashing only",
                 f"{audit['verify_copy_per_s']:,} / {audit['verify_fetch_per_s']:,} / {audit['verify_hash_per_s']:,}",
                 "-", None))
    verify = measure("bench.verify", "sr_bench")
    rows.append((f"verify_audit, full, {verify['processes']} ranges on one snapshot ({verify['events']:,} events) vs "
                 "the walk's rows read raw", f"{verify['parallel_ratio']:.2f}x ({verify['parallel_per_s']:,} ev/s)",
                 ">= 200,000 ev/s", verify["parallel_per_s"] >= 200_000 and verify["ok"]))
    rows.append(("  one process / the raw rows baseline",
                 f"{verify['single_ratio']:.2f}x ({verify['single_per_s']:,} / {verify['raw_rows_per_s']:,} ev/s)",
                 "-", None))
    print()
    print(f"{size['agencies']:,} agencies, {size['agreements']:,} agreements, {size['events']:,} audit events; "
          f"{time.perf_counter() - began:.0f} s in all")
    print(table(rows))


if __name__ == "__main__":
    main()
