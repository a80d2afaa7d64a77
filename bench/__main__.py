"""`make bench`: build fresh PostgreSQL databases, run every benchmark, print one table with targets.

    python -m bench            # a size that finishes in minutes on a 2-core machine
    python -m bench --full     # 10,000 agencies, 100,000 agreements, 1,000,000 audit events

Each benchmark runs in its own process (Django is set up once per process and per database) and prints
one JSON line; timings are compared with a baseline measured in the same run, because the machine is
shared and noisy.
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
    # DEBUG off, as in production; one throwaway signing key for every process of the run. As in production,
    # where beat seals every 2 s, requests do not seal the chain themselves.
    return db.production_env(env)


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
    _run(["-m", "bench.generate", *[f"--{k}={v}" for k, v in size.items()]], database)
    print(f"  built {database} ({', '.join(f'{v:,} {k}' for k, v in size.items())}) "
          f"in {time.perf_counter() - started:.0f}s", flush=True)


def measure(module: str, database: str, *extra: str) -> dict:
    out = _run(["-m", module, "--database", database, *extra], database)
    return json.loads(out.strip().splitlines()[-1])


def table(rows: list[tuple[str, str, str, bool | None]]) -> str:
    widths = [max(len(r[i]) for r in rows + [("measure", "figure", "target", None)]) for i in range(3)]
    lines = [f"{'measure':<{widths[0]}}  {'figure':<{widths[1]}}  {'target':<{widths[2]}}  met"]
    lines.append("-" * (sum(widths) + 10))
    for name, figure, target, ok in rows:
        mark = "yes" if ok else ("NO" if ok is False else "-")
        lines.append(f"{name:<{widths[0]}}  {figure:<{widths[1]}}  {target:<{widths[2]}}  {mark}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the benchmark suite against PostgreSQL.")
    parser.add_argument("--full", action="store_true", help="10k agencies, 100k agreements, 1M events")
    parser.add_argument("--keep", action="store_true", help="reuse sr_bench databases built by an earlier run")
    args = parser.parse_args()
    size = SIZES["full" if args.full else "quick"]
    db.production_env()  # one secret and one signing key for every process of this run
    print(f"Sharing Registry benchmarks on {os.cpu_count()} cores", flush=True)
    if not args.keep:
        build("sr_bench_small", SMALL)
        build("sr_bench", size)

    rows: list[tuple[str, str, str, bool | None]] = []
    big = measure("bench.check", "sr_bench")
    small = measure("bench.check", "sr_bench_small")
    rows.append(("check in-process p95 (decision + audit write)", f"{big['p95_ms']:.2f} ms", "<= 5 ms",
                 big["p95_ms"] <= 5))
    rows.append(("check queries", str(big["max_queries"]), "<= 3", big["max_queries"] <= 3))
    rows.append(("check p95 vs raw-SQL floor (same statements)", f"{big['ratio_to_floor']:.2f}x", "<= 2x",
                 big["ratio_to_floor"] <= 2))
    curve = big["p95_ms"] / small["p95_ms"]
    rows.append((f"check p95 at {size['agreements']:,} vs {SMALL['agreements']:,} agreements", f"{curve:.2f}x",
                 "<= 1.5x", curve <= 1.5))
    register = measure("bench.register", "sr_bench")
    for label, title in [("own_agency", "register first page, member of hub agency (party to 10%)"),
                         ("all_visible", "register first page, everything visible to that member")]:
        figure = register[label]
        rows.append((f"{title}: p95 of {figure['count']:,} rows", f"{figure['p95_ms']:.1f} ms", "<= 100 ms",
                     figure["p95_ms"] <= 100))
        rows.append((f"{title}: queries", str(figure["queries"]), "<= 6", figure["queries"] <= 6))
    rows.append(("  baseline: raw SELECT of one page", f"{register['baseline_p95_ms']:.2f} ms", "-", None))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
