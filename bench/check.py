"""The check, in-process: decision plus audit write, against the same SQL sent raw through psycopg2.

    python -m bench.check --database sr_bench [--samples 400]

Prints one JSON line: p50/p95 of `decisions.check()`, the queries it issued, and the p50/p95 of the floor:
the very statements it sent (captured, then replayed through psycopg2 on the same connection, right after
each check) with no Python around them. On PostgreSQL the decision's SELECT is a prepared statement
(agreements.decisions), so the floor replays the same EXECUTE.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from bench import db


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def questions(samples: int, seed: int) -> list[dict]:
    """A realistic mix: most questions are about real flows (any state), some about pairs with no agreement."""
    from agencies.models import Agency, Dataset
    from agreements.models import Flow

    rng = random.Random(seed)
    flow_count = Flow.objects.count()
    picks = sorted(rng.sample(range(flow_count), k=min(samples, flow_count)))
    flows = list(
        Flow.objects.order_by("pk").values_list("provider__code", "recipient__code", "dataset__code")
    )
    asked = [{"provider": p, "recipient": r, "dataset": d} for p, r, d in (flows[i] for i in picks)]
    codes = list(Agency.objects.values_list("code", flat=True)[:2000])
    datasets = list(Dataset.objects.values_list("code", flat=True)[:2000])
    for i in range(len(asked) // 5):  # one in six: nothing between them
        a, b = rng.sample(codes, 2)
        asked.append({"provider": a, "recipient": b, "dataset": datasets[i % len(datasets)]})
    rng.shuffle(asked)
    return asked


def run(samples: int = 400, seed: int = 7, rounds: int = 3) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from agreements import decisions
    from common import context

    asked = questions(samples, seed)
    with context.system("bench"):
        for q in asked[:20]:  # warm caches, the connection and its prepared statement
            decisions.check(**q)
        captured = []
        for q in asked:  # first pass: what SQL does each check send?
            with CaptureQueriesContext(connection) as ctx:
                decisions.check(**q)
            captured.append([query["sql"] for query in ctx.captured_queries])
        raw = connection.cursor().cursor  # psycopg2, no Django around it

        def replay(statements: list[str]) -> None:
            for sql in statements:
                raw.execute(sql)
                if raw.description:
                    raw.fetchall()

        # Timed passes. Each check is followed at once by its floor (the very statements it sent, replayed raw on
        # the same connection), so both halves of every pair see the same load on a shared machine.
        timings, floor, allowed = [], [], 0
        for _ in range(rounds):
            for q, statements in zip(asked, captured, strict=True):
                started = time.perf_counter()
                decision = decisions.check(**q)
                timings.append((time.perf_counter() - started) * 1000)
                allowed += decision.allowed
                started = time.perf_counter()
                replay(statements)
                floor.append((time.perf_counter() - started) * 1000)
    queries = max(len(statements) for statements in captured)
    return {
        "samples": len(timings),
        "allowed": allowed // rounds,
        "p50_ms": round(statistics.median(timings), 3),
        "p95_ms": round(percentile(timings, 95), 3),
        "max_queries": queries,
        "floor_p50_ms": round(statistics.median(floor), 3),
        "floor_p95_ms": round(percentile(floor, 95), 3),
        "ratio_to_floor": round(percentile(timings, 95) / percentile(floor, 95), 2),
        "ratio_p50": round(statistics.median(timings) / statistics.median(floor), 2),
        "statements": captured[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args()
    db.use(args.database)
    import django

    django.setup()
    print(json.dumps({"bench": "check", "database": args.database, **run(args.samples)}))


if __name__ == "__main__":
    main()
