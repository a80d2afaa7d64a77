"""The check over HTTP through gunicorn, against a bare DRF token-authenticated endpoint doing one indexed SELECT.

    python -m bench.check_http --database sr_bench [--seconds 8] [--clients 4]

Both run in the same gunicorn (3 sync workers, as the Dockerfile runs it), with the background sealer running as beat
does in production. Load comes from separate client processes, only to 127.0.0.1, each bounded in time and in
requests. Phases of one second alternate (baseline, check, baseline, ...), so load from elsewhere on a
shared machine falls on both alike. Prints one
JSON line: requests per second of each, their ratio, and latency percentiles.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import time

from bench import db
from bench.check import percentile

MAX_REQUESTS_PER_CLIENT = 20_000
WORKERS = 3  # as the Dockerfile runs gunicorn
PHASE_SECONDS = 1.0


def _client(port: int, workloads: dict[str, list], headers: dict, commands, out) -> None:
    """One load-generating process: for each command (workload name, seconds) it sends that workload's requests
    one after another for that long (and at most MAX_REQUESTS_PER_CLIENT in all), then reports."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = 0
    positions = dict.fromkeys(workloads, 0)
    while (command := commands.get()) is not None:
        name, seconds = command
        requests = workloads[name]
        latencies, errors = [], 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and sent < MAX_REQUESTS_PER_CLIENT:
            method, path, body = requests[positions[name] % len(requests)]
            positions[name] += 1
            sent += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()  # gunicorn's sync workers close after each response; reconnect next time
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
        out.put((name, latencies, errors, seconds))
    conn.close()


class _Load:
    """`clients` processes, kept alive across many short phases, so that phases of each workload can alternate
    quickly: on a shared machine, load from elsewhere then falls on both workloads alike."""

    def __init__(self, port: int, workloads: dict[str, list], headers: dict, clients: int):
        ctx = mp.get_context("spawn")
        self.out = ctx.Queue()
        self.commands = [ctx.Queue() for _ in range(clients)]
        split = {name: [reqs[n::clients] or reqs for n in range(clients)] for name, reqs in workloads.items()}
        self.procs = [
            ctx.Process(target=_client, args=(port, {k: v[n] for k, v in split.items()}, headers, q, self.out))
            for n, q in enumerate(self.commands)
        ]
        for proc in self.procs:
            proc.start()

    def phase(self, name: str, seconds: float, cpu=None) -> dict:
        before = cpu() if cpu else {}
        started = time.perf_counter()
        for queue in self.commands:
            queue.put((name, seconds))
        results = [self.out.get(timeout=seconds + 120) for _ in self.commands]
        elapsed = time.perf_counter() - started
        latencies = [ms for _, lat, _, _ in results for ms in lat]
        after = cpu() if cpu else {}
        used = {k: after[k] - before.get(k, 0.0) for k in after}
        return {"ok": len(latencies), "errors": sum(r[2] for r in results), "seconds": elapsed, "latencies": latencies,
                "cpu": used}

    def close(self) -> None:
        for queue in self.commands:
            queue.put(None)
        for proc in self.procs:
            proc.join(timeout=60)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(server) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn workers and by this database's PostgreSQL backends (the client
    processes are left out: they are the load, not the system under test)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        backends = [pid for (pid,) in cursor.fetchall()]
    return {"app": sum(_cpu_seconds(pid) for pid in server.worker_pids()),
            "db": sum(_cpu_seconds(pid) for pid in backends)}


def run(seconds: float, clients: int) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model

    from agencies.models import Agency
    from bench.check import questions
    from bench.sealer import Sealer
    from bench.server import Server
    from tokens.models import ApiToken

    # An auditor may ask about any pair, and the check still runs its membership query for them.
    user = get_user_model().objects.get(username="hub-city-auditor")
    _, key = ApiToken.objects.create(user=user, expiry=timedelta(days=1), name="Benchmark")
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    checks = [("POST", "/api/v1/checks/", json.dumps(q).encode()) for q in questions(400, 11)]
    codes = list(Agency.objects.order_by("?").values_list("code", flat=True)[:400])
    baseline = [("GET", f"/bench/baseline/?code={code}", None) for code in codes]

    phases: dict[str, list[dict]] = {"baseline": [], "check": []}
    rounds = max(2, round(seconds / PHASE_SECONDS))
    with Server(workers=WORKERS) as server, Sealer() as sealer:
        load = _Load(server.port, {"baseline": baseline, "check": checks}, headers, clients)
        try:
            load.phase("baseline", 1.0)  # warm every worker and connection
            load.phase("check", 1.0)
            for _round in range(rounds):
                for name in phases:
                    phases[name].append(load.phase(name, PHASE_SECONDS, cpu=lambda: _cpu(server)))
        finally:
            load.close()
    out: dict = {"clients": clients, "workers": WORKERS, "sealed_meanwhile": sealer.sealed}
    for name, runs in phases.items():
        latencies = [ms for r in runs for ms in r["latencies"]]
        rate = sum(r["ok"] for r in runs) / sum(r["seconds"] for r in runs)
        served = max(1, sum(r["ok"] for r in runs))
        cpu = {part: round(sum(r["cpu"].get(part, 0.0) for r in runs) / served * 1000, 2) for part in ("app", "db")}
        out[name] = {"rps": round(rate, 1), "requests": len(latencies), "errors": sum(r["errors"] for r in runs),
                     "p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2),
                     "app_cpu_ms": cpu["app"], "db_cpu_ms": cpu["db"]}
    out["ratio"] = round(out["check"]["rps"] / out["baseline"]["rps"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint, in one-second phases")
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    db.use(args.database)
    import django

    django.setup()
    print(json.dumps({"bench": "check_http", **run(args.seconds, args.clients)}))


if __name__ == "__main__":
    main()
