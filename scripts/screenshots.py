#!/usr/bin/env python3
"""Regenerates the README's screenshots in docs/screenshots/ (`make screenshots`).

Starts the app against a throwaway SQLite database filled with demo data (`manage.py seed_demo` when the
project has it, otherwise a small built-in demo), serves it on a free 127.0.0.1 port, signs in as each role
in Debian's Chromium (never a downloaded browser) and saves 1280x800 PNGs of the main pages: the register, an
agreement's page (the whole page), an action's confirmation page, the create form with its error summary, the
audit log, the dashboards, *Can I share?* and the public pages.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess  # noqa: S404 - runs our own manage.py
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROLES = ["frontline", "governance_officer", "auditor", "agency_admin"]


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(  # noqa: S603
        [PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=True, text=True,
        capture_output=capture,
    )
    return result.stdout if capture else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Run inside Django (a child process with DJANGO_SETTINGS_MODULE set) ------------------------------------------

def _builtin_demo() -> None:
    """A small Greater Manchester register, for when `seed_demo` is not available."""
    import datetime as dt

    from django.utils import timezone

    from agencies.choices import AgencyKind, Role
    from agreements.choices import AgreementStatus
    from agreements.models import AgreementVersion, LegalBasis
    from audit.choices import AuditAction
    from audit.services import record
    from tests.agreements.builders import build_agreement
    from tests.factories import AgencyFactory, DatasetFactory, member

    bases = {
        "ukgdpr-6-1-e": ("UK GDPR Article 6(1)(e)", "Public task", "article6"),
        "ukgdpr-6-1-c": ("UK GDPR Article 6(1)(c)", "Legal obligation", "article6"),
        "ukgdpr-9-2-h": ("UK GDPR Article 9(2)(h)", "Health or social care", "article9"),
        "ukgdpr-9-2-g": ("UK GDPR Article 9(2)(g)", "Substantial public interest", "article9"),
        "crime-and-disorder-act-1998-s115": ("Crime and Disorder Act 1998, section 115",
                                             "Disclosure to prevent crime and disorder", "statute"),
        "care-act-2014-s45": ("Care Act 2014, section 45", "Safeguarding adults boards", "statute"),
    }
    for code, (citation, title, kind) in bases.items():
        LegalBasis.objects.get_or_create(code=code, defaults={
            "citation": citation, "title": title, "kind": kind,
            "description": f"{title}: the law lets this organisation share for this purpose.",
        })
    agencies = {code: AgencyFactory(code=code, name=name, kind=kind) for code, name, kind in [
        ("manchester-cc", "Manchester City Council", AgencyKind.LOCAL_AUTHORITY),
        ("salford-cc", "Salford City Council", AgencyKind.LOCAL_AUTHORITY),
        ("trafford-mbc", "Trafford Council", AgencyKind.LOCAL_AUTHORITY),
        ("mft", "Manchester University NHS Foundation Trust", AgencyKind.NHS_TRUST),
        ("srft", "Northern Care Alliance NHS Foundation Trust", AgencyKind.NHS_TRUST),
        ("gmp", "Greater Manchester Police", AgencyKind.POLICE),
        ("gmfrs", "Greater Manchester Fire and Rescue Service", AgencyKind.FIRE_RESCUE),
        ("ardwick-gp", "Ardwick Medical Practice", AgencyKind.GP_PRACTICE),
        ("mcr-college", "The Manchester College", AgencyKind.EDUCATION),
        ("mind-mcr", "Manchester Mind", AgencyKind.VOLUNTARY),
    ]}
    a = agencies
    datasets = {code: DatasetFactory(code=code, name=name, owner=a[owner], special_category=special)
                for code, name, owner, special in [
                    ("mft-discharge", "Hospital discharge summaries", "mft", True),
                    ("mcc-smoking-risk", "Smoking and home fire risk", "manchester-cc", False),
                    ("mcc-housing", "Housing register", "manchester-cc", False),
                    ("mcc-asb", "Antisocial behaviour cases", "manchester-cc", False),
                    ("gmp-dv", "Domestic abuse incidents", "gmp", False),
                    ("gmfrs-visits", "Safe and well visits", "gmfrs", False),
                    ("srft-ae", "A&E attendances", "srft", True),
                    ("salford-adults", "Adult safeguarding referrals", "salford-cc", True),
                    ("ardwick-frailty", "Frailty register", "ardwick-gp", True),
                    ("college-attendance", "Student attendance", "mcr-college", False),
                ]}
    today = timezone.localdate()
    dv, six_e, health = "crime-and-disorder-act-1998-s115", "ukgdpr-6-1-e", "ukgdpr-9-2-h"
    active = [
        ("mft", "manchester-cc", "mft-discharge", "Hospital discharge to adult social care", (six_e, health)),
        ("manchester-cc", "gmfrs", "mcc-smoking-risk", "Safe and well visits for people at risk of fire", (six_e,)),
        ("gmp", "manchester-cc", "gmp-dv", "Multi-agency risk assessment conferences", (six_e, dv)),
        ("manchester-cc", "gmp", "mcc-asb", "Community safety partnership", (six_e, dv)),
        ("gmfrs", "manchester-cc", "gmfrs-visits", "Fire service referrals to adult social care", (six_e,)),
        ("srft", "salford-cc", "srft-ae", "Frequent A&E attenders support", (six_e, health)),
        ("salford-cc", "srft", "salford-adults", "Salford safeguarding adults board",
         (six_e, "ukgdpr-9-2-g", "care-act-2014-s45")),
        ("ardwick-gp", "manchester-cc", "ardwick-frailty", "Frailty and falls prevention", (six_e, health)),
        ("mcr-college", "manchester-cc", "college-attendance", "Young people not in education", (six_e,)),
        ("manchester-cc", "mind-mcr", "mcc-housing", "Housing support for people in mental health crisis", (six_e,)),
        ("gmp", "trafford-mbc", None, "Trafford community safety", (six_e, dv)),
        ("mft", "gmfrs", None, "Hospital falls referrals to the fire service", (six_e, health)),
    ]
    built = []
    for i, (provider, recipient, dataset, title, codes) in enumerate(active):
        ds = datasets[dataset] if dataset else DatasetFactory(owner=a[provider])
        review = today + dt.timedelta(days=40 + 30 * i)
        end = today + dt.timedelta(days=70 if i == 3 else 500 + 20 * i)
        built.append(build_agreement(provider=a[provider], recipient=a[recipient], dataset=ds, title=title,
                                     bases=codes, start=today - dt.timedelta(days=200), end=end, review=review))
    officer = member(a["manchester-cc"], Role.GOVERNANCE_OFFICER, username="officer", first_name="Grace")
    member(a["manchester-cc"], Role.FRONTLINE, username="frontline", first_name="Frank")
    member(a["manchester-cc"], Role.AUDITOR, username="auditor", first_name="Aisha")
    member(a["manchester-cc"], Role.AGENCY_ADMIN, username="admin", first_name="Adam")
    member(a["mft"], Role.GOVERNANCE_OFFICER, username="mft-officer")
    waiting = build_agreement(provider=a["mft"], recipient=a["manchester-cc"], dataset=datasets["mft-discharge"],
                              title="Mental health discharge planning", status=AgreementStatus.SUBMITTED)
    waiting.current_version.parties.filter(agency=a["mft"]).update(signed_by=officer, signed_at=timezone.now())
    draft = build_agreement(provider=a["manchester-cc"], recipient=a["salford-cc"],
                            title="Cross-border school admissions", status=AgreementStatus.DRAFT)
    AgreementVersion.objects.filter(pk=draft.current_version_id).update(last_edited_by=officer)
    build_agreement(provider=a["manchester-cc"], recipient=a["gmp"], title="Retired CCTV sharing",
                    status=AgreementStatus.SUSPENDED)
    for action, agreement in [(AuditAction.AGREEMENT_CREATED, draft), (AuditAction.AGREEMENT_SUBMITTED, waiting),
                              (AuditAction.AGREEMENT_APPROVED, waiting), (AuditAction.CHECK_ALLOWED, built[1]),
                              (AuditAction.CHECK_DENIED, built[1])]:
        record(action=action, object_type="agreement", object_ref=agreement.reference, agency=a["manchester-cc"],
               actor=officer)


def _credentials() -> dict[str, str]:
    """One user per role, with a fresh password set in this throwaway database only."""
    from django.contrib.auth import get_user_model

    from agencies.models import AgencyRole

    password = secrets.token_urlsafe(12)
    found = {}
    for role in ROLES:
        agency_role = AgencyRole.objects.filter(role=role, group__user__isnull=False).order_by("pk").first()
        if agency_role is None:
            continue
        user = get_user_model().objects.filter(groups=agency_role.group).order_by("pk").first()
        user.set_password(password)
        user.save(update_fields=["password"])
        found[role] = user.get_username()
    return {"password": password, "users": found}


def _check_example(username: str) -> dict[str, str] | None:
    """A recipient and dataset the frontline user's agency may share today, to show a yes."""
    from django.db.models import F

    from agencies.models import AgencyRole
    from agreements.models import Flow

    agency_ids = AgencyRole.objects.filter(group__user__username=username).values("agency_id")
    flow = (
        Flow.objects.filter(provider_id__in=agency_ids, version__agreement__status="active",
                            version__agreement__in_force_version=F("version"))
        .select_related("recipient", "dataset").order_by("pk").first()
    )
    return {"recipient": flow.recipient.name, "dataset": flow.dataset.name} if flow else None


def _agreement_example(username: str) -> str | None:
    """An active agreement the governance officer's agency is party to: the one with the fewest legal bases over
    its flows (so its page stays a readable length), then the most signatures."""
    from django.db.models import Count, F, OuterRef, Subquery

    from agencies.models import AgencyRole
    from agreements.models import Agreement, Flow, Party

    agency_ids = AgencyRole.objects.filter(group__user__username=username).values("agency_id")
    signed = (Party.objects.filter(version=OuterRef("in_force_version"), signed_at__isnull=False)
              .order_by().values("version").annotate(n=Count("pk")).values("n"))
    bases = (Flow.legal_bases.through.objects.filter(flow__version=OuterRef("in_force_version"))
             .order_by().values("flow__version").annotate(n=Count("pk")).values("n"))
    agreement = (
        Agreement.objects.filter(status="active", in_force_version=F("current_version"),
                                 in_force_version__parties__agency_id__in=agency_ids,
                                 in_force_version__flows__isnull=False)
        .annotate(signed=Subquery(signed), bases=Subquery(bases))
        .order_by("bases", "-signed", "pk").first()
    )
    return agreement.reference if agreement else None


def inside_django(task: str, arg: str = "") -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")
    django.setup()
    if task == "seed":
        _builtin_demo()
    elif task == "credentials":
        print(json.dumps(_credentials()))
    elif task == "example":
        print(json.dumps(_check_example(arg)))
    elif task == "agreement":
        print(json.dumps(_agreement_example(arg)))


# Drive the browser -----------------------------------------------------------------------------------------

def shoot(base: str, creds: dict, example: dict | None, reference: str | None, out: Path,
          chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)

    def snap(page, name: str, scroll_to: str | None = None, down_to: str | None = None) -> None:
        """A viewport's worth, or with `down_to` the page from its top to the bottom of that element."""
        page.wait_for_load_state("networkidle")
        if scroll_to:
            page.evaluate("selector => document.querySelector(selector).scrollIntoView()", scroll_to)
        path = out / f"{name}.png"
        bottom = down_to and page.evaluate(
            "s => { const e = document.querySelector(s); return e && e.getBoundingClientRect().bottom + scrollY }",
            down_to)
        if bottom:
            page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 8})
        else:
            page.screenshot(path=str(path), full_page=False)
        saved.append(path)
        print(f"saved {path.relative_to(ROOT)}")

    def visit(page, url: str, name: str, scroll_to: str | None = None, down_to: str | None = None) -> bool:
        response = page.goto(base + url)
        signed_out = "/accounts/login/" in page.url and not url.startswith("/accounts/login/")
        if response is None or response.status >= 400 or signed_out:
            print(f"skipped {url}: {'signed out' if signed_out else response.status if response else 'no response'}")
            return False
        snap(page, name, scroll_to, down_to)
        return True

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
        page = context.new_page()
        visit(page, "/accounts/login/", "sign-in")
        visit(page, "/public/", "public-register")
        if visit(page, "/public/map/", "sharing-map", scroll_to="#map-summary"):
            first = page.locator("table a").first
            if first.count():
                first.click()
                snap(page, "sharing-map-one-agency", scroll_to="#map-summary")
        context.close()

        pages_by_role = {
            "frontline": [("/", "dashboard-frontline"), ("/check/", "check")],
            # The register and the audit log down to their tables: the filters above them fill a screen.
            "governance_officer": [("/", "dashboard-governance-officer"),
                                   ("/agreements/", "agreement-register", "table tbody tr:last-child")],
            "auditor": [("/", "dashboard-auditor"),
                        ("/audit/", "audit-log", "table:last-of-type tbody tr:nth-child(6)")],
            "agency_admin": [("/", "dashboard-agency-admin"), ("/agencies/", "agencies")],
        }
        for role, pages in pages_by_role.items():
            username = creds["users"].get(role)
            if not username:
                print(f"no demo user holds the role {role}; skipped")
                continue
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
            page = context.new_page()
            page.goto(base + "/accounts/login/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(creds["password"])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            for url, name, *down_to in pages:
                visit(page, url, name, down_to=down_to[0] if down_to else None)
            if role == "frontline" and example:
                page.goto(base + "/check/")
                page.get_by_label("Who do you want to share with?").fill(example["recipient"])
                page.get_by_label("What information do you want to share?").fill(example["dataset"])
                page.get_by_role("button", name="Check").click()
                snap(page, "check-yes")
            if role == "governance_officer":
                if reference:
                    # Its summary, signatures and first flow down to the first law that allows it (each basis is
                    # explained at length), then its use in checks and its history.
                    if visit(page, f"/agreements/{reference}/", "agreement-page",
                             down_to=".govuk-summary-card .govuk-summary-list__row:nth-child(5) p:nth-child(2)"):
                        page.get_by_role("heading", name="Use in sharing checks").evaluate("e => e.scrollIntoView()")
                        snap(page, "agreement-history")
                    visit(page, f"/agreements/{reference}/suspend/", "agreement-suspend")
                response = page.goto(base + "/agreements/new/")
                if response and response.ok and page.get_by_label("Title", exact=True).count():
                    # A title and an impossible date, nothing else: the error summary lists what is missing.
                    page.get_by_label("Title", exact=True).fill("Hospital discharge to community nursing")
                    page.locator("[name=start_date_day]").fill("31")
                    page.locator("[name=start_date_month]").fill("2")
                    page.locator("[name=start_date_year]").fill("2026")
                    page.get_by_role("button", name="Save draft").click()
                    snap(page, "agreement-form-errors")
            context.close()
        browser.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sr-screenshots-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
            "DEBUG": "1",
            "SECURE_SSL_REDIRECT": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "AUDIT_SIGNING_KEY_GENERATE": "1",
            "AUDIT_SIGNING_KEY_FILE": f"{tmp}/audit_signing_key",
            "AUDIT_WITNESS_DIR": f"{tmp}/audit-witness",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "sharing_registry.settings",
        }
        env.pop("CELERY_BROKER_URL", None)  # tasks run eagerly: no broker needed
        manage(env, "migrate", "--noinput", capture=True)
        if "seed_demo" in manage(env, "help", "--commands", capture=True).split():
            manage(env, "seed_demo", capture=True)
        else:
            subprocess.run([PYTHON, __file__, "--inside", "seed"], env=env, check=True, cwd=ROOT)  # noqa: S603
        creds = json.loads(subprocess.run(  # noqa: S603
            [PYTHON, __file__, "--inside", "credentials"], env=env, check=True, cwd=ROOT, capture_output=True,
            text=True).stdout.strip().splitlines()[-1])
        example = reference = None
        if "governance_officer" in creds["users"]:
            reference = json.loads(subprocess.run(  # noqa: S603
                [PYTHON, __file__, "--inside", "agreement", creds["users"]["governance_officer"]], env=env,
                check=True, cwd=ROOT, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        if "frontline" in creds["users"]:
            example = json.loads(subprocess.run(  # noqa: S603
                [PYTHON, __file__, "--inside", "example", creds["users"]["frontline"]], env=env, check=True,
                cwd=ROOT, capture_output=True, text=True).stdout.strip().splitlines()[-1])

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(  # noqa: S603
            [PYTHON, str(ROOT / "manage.py"), "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
            cwd=ROOT, env={**env, "CSRF_TRUSTED_ORIGINS": base}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=1):  # noqa: S310 - our local server
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit("the server did not start")
            shoot(base, creds, example, reference, Path(args.out), args.chromium)
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--inside":
        inside_django(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
        sys.exit(0)
    sys.exit(main())
