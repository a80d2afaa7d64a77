"""Fill a PostgreSQL database with a region's worth of register data, fast (COPY, not saves).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sr_bench \\
        python -m bench.generate --agencies 10000 --agreements 100000 --events 1000000

Shapes: agreements in every state with two to four parties and one to three flows each, the object
permissions the services would have granted, four members per agency, and audit events spread over
two years. One agency (`hub-city`) is a party to a tenth of all agreements, as a big city council is.
The database must be freshly migrated and empty; `bench.db.fresh_database()` makes one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator

from audit.canonical import canonical_json

HUB = "hub-city"
ROLES = ["governance_officer", "frontline", "auditor", "agency_admin"]
KINDS = ["local_authority", "nhs_trust", "gp_practice", "police", "fire_rescue", "education", "voluntary", "other"]
STATUS_MIX = [
    ("active", 60), ("draft", 9), ("submitted", 8), ("suspended", 5),
    ("revoked", 5), ("expired", 8), ("rejected", 5),
]
ACTIONS = [
    ("check.allowed", 40), ("check.denied", 15), ("agreement.viewed", 20), ("dataset.viewed", 8),
    ("agreement.listed", 8), ("auth.login", 6), ("agreement.approved", 2), ("membership.granted", 1),
]
ITEMS = ["name", "address", "date of birth", "NHS number", "risk flags", "case notes", "contact details"]
UTC = dt.UTC
EPOCH = dt.datetime(2025, 1, 1, tzinfo=UTC)


CHECK_PURPOSES = ["Safeguarding referral for an adult at risk", "Home fire safety visit for a vulnerable resident",
                  "Hospital discharge planning", "Missing person enquiry", "Child protection strategy meeting"]


def _event_detail(rng: random.Random, action: str, reference: str, concerned: list[str]) -> dict:
    """An event's detail as the product writes it, each event its own (a log of identical details would flatter the
    walk, which hashes each event's whole detail): a check's full decision record
    (agreements.decisions.Decision.as_detail), a page's reference and page number, a grant's role."""
    if action.startswith("check."):
        allowed = action == "check.allowed"
        items = rng.sample(ITEMS, rng.randint(1, 4))
        provider, recipient = concerned[0], concerned[-1]
        return {
            "provider": provider, "recipient": recipient, "dataset": f"{provider}-ds{rng.randint(1, 3)}",
            "purpose": rng.choice(CHECK_PURPOSES), "data_items": items,
            "on": (EPOCH + dt.timedelta(days=rng.randint(0, 700))).date().isoformat(), "allowed": allowed,
            "outcome": "allowed" if allowed else rng.choice(["no_agreement", "item_not_covered", "expired"]),
            "reason": (f"Yes: {reference} allows {provider} to share this with {recipient}." if allowed
                       else f"No agreement in force lets {provider} share {', '.join(items)} with {recipient}."),
            "agreement": reference if allowed else None, "version": rng.randint(1, 3) if allowed else None,
            "legal_bases": ["UK-GDPR-6-1-e", "UK-GDPR-9-2-h"] if allowed else [], "warnings": [],
        }
    if action == "agreement.listed":
        return {"page": rng.randint(1, 20), "filters": {"agency": concerned[0]}}
    if action == "membership.granted":
        return {"role": ROLES[rng.randint(0, 3)], "agency": concerned[0]}
    return {"reference": reference}


def _escape(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(cursor, table: str, columns: list[str], rows: Iterable[tuple], chunk: int = 50_000) -> int:
    """COPY rows into a table in chunks; returns the count."""
    count = 0
    buffer = io.StringIO()
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"

    began = time.perf_counter()

    def flush() -> None:
        buffer.seek(0)
        cursor.copy_expert(sql, buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        buffer.write("\t".join(_escape(v) for v in row))
        buffer.write("\n")
        count += 1
        if count % chunk == 0:
            flush()
    flush()
    if os.environ.get("BENCH_VERBOSE"):
        print(f"  {table}: {count} rows in {time.perf_counter() - began:.1f}s", file=sys.stderr)
    return count


def _weighted(rng: random.Random, mix: list[tuple[str, int]]) -> Iterator[str]:
    names = [name for name, _ in mix]
    weights = [weight for _, weight in mix]
    while True:
        yield from rng.choices(names, weights=weights, k=10_000)


def generate(*, agencies: int, agreements: int, events: int, seed: int = 42, out=sys.stdout) -> dict[str, int]:
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        raise SystemExit("The generator writes with COPY: point DATABASE_URL at PostgreSQL.")
    rng = random.Random(seed)
    now = dt.datetime.now(UTC)
    today = now.date()
    counts: dict[str, int] = {}
    started = time.perf_counter()

    with transaction.atomic(), connection.cursor() as django_cursor:
        cur = django_cursor.cursor  # the psycopg2 cursor, for copy_expert
        # The rows are consistent by construction: skip per-row foreign-key triggers while loading (superuser only).
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SELECT count(*) FROM agencies_agency")
        if cur.fetchone()[0]:
            raise SystemExit("The database already holds agencies: generate into a fresh one.")

        cur.execute("SELECT id, codename FROM auth_permission WHERE content_type_id = "
                    "(SELECT id FROM django_content_type WHERE app_label='agreements' AND model='agreement')")
        perms = {codename: pk for pk, codename in cur.fetchall()}
        cur.execute("SELECT id, code, kind FROM agreements_legalbasis")
        bases = {code: pk for pk, code, _ in cur.fetchall()}

        # Agencies, one group per role, four members each.
        codes = [HUB] + [f"ag-{i:05d}" for i in range(1, agencies)]
        counts["agencies"] = copy_rows(cur, "agencies_agency",
            ["id", "code", "name", "kind", "ico_registration", "dpo_name", "dpo_email", "siro_name",
             "caldicott_guardian_name", "active", "created_at", "updated_at"],
            ((i + 1, code, f"Agency {code}", KINDS[i % len(KINDS)], f"Z{i:07d}", "", f"dpo@{code}.example", "", "",
              True, now, now) for i, code in enumerate(codes)))
        agency_roles = [(a, r, role) for a in range(agencies) for r, role in enumerate(ROLES)]
        copy_rows(cur, "auth_group", ["id", "name"],
                  ((a * 4 + r + 1, f"{codes[a]}:{role}") for a, r, role in agency_roles))
        copy_rows(cur, "agencies_agencyrole", ["id", "agency_id", "role", "group_id"],
                  ((a * 4 + r + 1, a + 1, role, a * 4 + r + 1) for a, r, role in agency_roles))
        counts["users"] = copy_rows(cur, "auth_user",
            ["id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
             "is_active", "date_joined"],
            ((a * 4 + r + 1, "!", False, f"{codes[a]}-{role}", "", "", "", False, True, now)
             for a in range(agencies) for r, role in enumerate(ROLES)))
        copy_rows(cur, "auth_user_groups", ["id", "user_id", "group_id"],
                  ((n, n, n) for n in range(1, agencies * 4 + 1)))

        # Three datasets per agency; every fifth holds special category data.
        per_agency = 3
        counts["datasets"] = copy_rows(cur, "agencies_dataset",
            ["id", "owner_id", "code", "name", "description", "data_items", "special_category", "criminal_offence",
             "classification", "created_at", "updated_at"],
            ((a * per_agency + d + 1, a + 1, f"{codes[a]}-ds{d}", f"Dataset {d} of {codes[a]}", "",
              json.dumps(ITEMS[: 3 + d]), (a + d) % 5 == 0, False, "OFFICIAL", now, now)
             for a in range(agencies) for d in range(per_agency)))

        # Agreements: one version each, parties, flows, bases, periods and the permissions services would grant.
        statuses = _weighted(rng, STATUS_MIX)
        agreement_rows, version_rows, party_rows, flow_rows, basis_rows, period_rows, perm_rows = ([] for _ in range(7))
        party_id = flow_id = fb_id = period_id = perm_id = 0
        for n in range(1, agreements + 1):
            status = next(statuses)
            lead = 1 if n % 10 == 0 else rng.randint(2, agencies)
            others = rng.sample(range(1, agencies + 1), k=rng.randint(1, 3))
            parties = list(dict.fromkeys([lead, *others]))
            if len(parties) < 2:
                parties.append(lead % agencies + 1)
            start = (EPOCH + dt.timedelta(days=rng.randint(0, 600))).date()
            end = start + dt.timedelta(days=365 * rng.randint(1, 3))
            if status == "expired":
                end = today - dt.timedelta(days=rng.randint(1, 200))
                start = end - dt.timedelta(days=365)
            review = start + (end - start) / 2
            created = dt.datetime.combine(start, dt.time(9), tzinfo=UTC) - dt.timedelta(days=30)
            version_state = {"draft": "draft", "submitted": "submitted", "rejected": "rejected"}.get(status, "signed")
            signed = version_state == "signed"
            creator = (lead - 1) * 4 + 1
            agreement_rows.append((n, f"ISA-{start.year}-{n:06d}", lead, status, n, n if signed else None, creator,
                                   created, created))
            version_rows.append((n, n, 1, version_state, f"Agreement {n}", "Safeguarding and care coordination",
                                 start, end, review, f"DPIA-{n}", creator, creator, created, created,
                                 created if status != "draft" else None, created if signed else None))
            for agency in parties:
                party_id += 1
                party_rows.append((party_id, n, agency, (agency - 1) * 4 + 1 if signed else None,
                                   created if signed else None, f"Officer {agency}" if signed else "",
                                   "Governance officer" if signed else "", signed))
                for role_index, _role in enumerate(ROLES):  # the one grant the services make: who may see it
                    perm_id += 1
                    perm_rows.append((perm_id, perms["view_agreement"], (agency - 1) * 4 + role_index + 1, n))
            pairs = [(p, r) for p in parties for r in parties if p != r]
            for provider, recipient in rng.sample(pairs, k=min(len(pairs), rng.randint(1, 3))):
                flow_id += 1
                dataset = (provider - 1) * per_agency + rng.randrange(per_agency) + 1
                flow_rows.append((flow_id, n, dataset, provider, recipient, "Safeguarding", json.dumps(ITEMS[:3]),
                                  "secure_email", "as_needed", "12 months"))
                for code in ("ukgdpr-6-1-e", "ukgdpr-9-2-h"):
                    fb_id += 1
                    basis_rows.append((fb_id, flow_id, bases[code]))
            if signed:
                began = created + dt.timedelta(days=1)
                ended = {"suspended": now - dt.timedelta(days=20), "revoked": now - dt.timedelta(days=10),
                         "expired": dt.datetime.combine(end + dt.timedelta(days=1), dt.time(2), tzinfo=UTC)}
                period_id += 1
                period_rows.append((period_id, n, n, "in_force", began, ended.get(status),
                                    status if status in ended else "", ""))
                if status == "suspended":
                    period_id += 1
                    period_rows.append((period_id, n, n, "suspended", ended["suspended"], None, "",
                                        "Suspended while a data breach is investigated"))

        counts["agreements"] = copy_rows(cur, "agreements_agreement",
            ["id", "reference", "lead_agency_id", "status", "current_version_id", "in_force_version_id",
             "created_by_id", "created_at", "updated_at"], agreement_rows)
        copy_rows(cur, "agreements_agreementversion",
            ["id", "agreement_id", "number", "state", "title", "purpose", "start_date", "end_date", "review_date",
             "dpia_reference", "created_by_id", "last_edited_by_id", "created_at", "updated_at", "submitted_at",
             "signed_at"], version_rows)
        counts["parties"] = copy_rows(cur, "agreements_party",
            ["id", "version_id", "agency_id", "signed_by_id", "signed_at", "signer_name", "signer_job_title",
             "signer_declared"], party_rows)
        counts["flows"] = copy_rows(cur, "agreements_flow",
            ["id", "version_id", "dataset_id", "provider_id", "recipient_id", "purpose", "data_items", "method",
             "frequency", "retention"], flow_rows)
        copy_rows(cur, "agreements_flow_legal_bases", ["id", "flow_id", "legalbasis_id"], basis_rows)
        counts["periods"] = copy_rows(cur, "agreements_agreementperiod",
            ["id", "agreement_id", "version_id", "state", "started_at", "ended_at", "end_reason", "reason"],
            period_rows)
        counts["permissions"] = copy_rows(cur, "agreements_agreementgroupobjectpermission",
            ["id", "permission_id", "group_id", "content_object_id"], perm_rows)
        cur.execute("INSERT INTO agreements_referencecounter (year, last_number) VALUES (%s, %s) "
                    "ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number", [today.year, agreements])
        del agreement_rows, version_rows, party_rows, flow_rows, basis_rows, period_rows, perm_rows

        # Audit events over two years, in time order.
        actions = _weighted(rng, ACTIONS)
        span = (now - (now - dt.timedelta(days=730))).total_seconds()

        def event_rows() -> Iterator[tuple]:
            begin = now - dt.timedelta(days=730)
            for seq in range(1, events + 1):
                agency = rng.randint(1, agencies)
                user = (agency - 1) * 4 + rng.randint(1, 4)
                action = next(actions)
                # Each event concerns its actor's agency and, as an agreement's parties do, one or two others.
                # hub-city (agency 1), a party to a tenth of all agreements, is concerned by a tenth of events.
                others = (codes[rng.randint(1, agencies) - 1] for _ in range(rng.randint(1, 2)))
                concerned = {codes[agency - 1], *others}
                if rng.random() < 0.1:
                    concerned.add(codes[0])
                concerned = sorted(concerned)
                reference = f"ISA-2026-{rng.randint(1, max(agreements, 1)):06d}"
                yield (seq, begin + dt.timedelta(seconds=span * seq / (events + 1)), user,
                       f"{codes[agency - 1]}-{ROLES[(user - 1) % 4]}", agency, codes[agency - 1], action,
                       "agreement", reference, canonical_json(_event_detail(rng, action, reference, concerned)),
                       f"{rng.getrandbits(128):032x}",
                       f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       json.dumps(concerned))

        # The agencies index (audit_auditeventagency) is filled by the events' own INSERT trigger, as in use.
        counts["events"] = copy_rows(cur, "audit_auditevent",
            ["seq", "at", "actor_id", "actor_name", "agency_id", "agency_code", "action", "object_type",
             "object_ref", "detail", "request_id", "client_ip", "agencies"], event_rows())

        for table, column in [
            ("agencies_agency", "id"), ("auth_group", "id"), ("agencies_agencyrole", "id"), ("auth_user", "id"),
            ("auth_user_groups", "id"), ("agencies_dataset", "id"), ("agreements_agreement", "id"),
            ("agreements_agreementversion", "id"), ("agreements_party", "id"), ("agreements_flow", "id"),
            ("agreements_flow_legal_bases", "id"), ("agreements_agreementperiod", "id"),
            ("agreements_agreementgroupobjectpermission", "id"), ("audit_auditevent", "seq"),
        ]:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "  # noqa: S608
                        f"GREATEST((SELECT max({column}) FROM {table}), 1))")
    with connection.cursor() as cursor:
        # A settled database, as autovacuum leaves it: statistics, and the visibility map that lets the
        # planner answer from an index alone (guardian's grants, parties) instead of visiting the heap.
        cursor.execute("VACUUM ANALYZE")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    print("generated " + ", ".join(f"{k}={v}" for k, v in counts.items()), file=out)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=10_000)
    parser.add_argument("--agreements", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seal", action="store_true",
                        help="seal every generated event into the hash chain, as the background sealer would have")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")
    import django

    django.setup()
    generate(agencies=args.agencies, agreements=args.agreements, events=args.events, seed=args.seed)
    if args.seal:
        from audit.chain import seal_pending
        from common import context

        started = time.perf_counter()
        with context.system("audit-sealer"):
            sealed = seal_pending(full=True, force_checkpoint=True).sealed
        print(f"sealed {sealed} events in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
