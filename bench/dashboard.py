"""The dashboard for a governance officer of the busiest agency, through the whole Django stack (page rendered).

    python -m bench.dashboard --database sr_bench [--repeats 40]

`hub-city` is a party to a tenth of all agreements. Its governance officer's dashboard lists what awaits their
signature, reviews and expiries due, recent activity of their agency and counts by status. The baseline is one
raw indexed SELECT of their agency's latest events, in the same run.
"""

from __future__ import annotations

from bench import db
from bench.check import percentile
from bench.register import _measure, _timed


def run(repeats: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    user = get_user_model().objects.get(username="hub-city-governance_officer")
    client = Client()
    client.force_login(user)
    figures = _measure(client, "/", repeats)
    raw = connection.cursor().cursor

    def baseline() -> None:
        raw.execute("SELECT * FROM audit_auditevent WHERE agency_id = 1 ORDER BY at DESC, seq DESC LIMIT 10")
        raw.fetchall()

    figures["baseline_p95_ms"] = round(percentile(_timed(baseline, repeats), 95), 3)
    return figures


def main() -> None:
    db.main("dashboard", run, repeats=40)

if __name__ == "__main__":
    main()
