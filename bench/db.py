"""A throwaway PostgreSQL database for benchmarks, made fresh and migrated before Django is set up."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL (or BENCH_DATABASE_URL) to a postgres:// URL.")
    return url


def url_for(name: str) -> str:
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate(name: str) -> str:
    """Drop and create database `name` (only ever names starting with sr_bench); returns its URL."""
    import psycopg2

    if not name.startswith("sr_bench"):
        raise ValueError("bench databases are named sr_bench*")
    admin = psycopg2.connect(url_for("postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return url_for(name)


def production_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Settings as in production: DEBUG off (no query log kept per cursor), a secret key and a signing key (both
    throwaway), a witness directory of its own, writers never sealing (beat does), no HTTPS redirect on 127.0.0.1.
    Keeps any value already set."""
    import base64

    env = os.environ if env is None else env
    env.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")
    env.setdefault("DEBUG", "0")
    env.setdefault("SECRET_KEY", "bench-" + base64.b64encode(os.urandom(24)).decode())
    env.setdefault("AUDIT_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode())
    env.setdefault("AUDIT_WITNESS_DIR", str(Path(tempfile.gettempdir()) / "sharing-registry-bench-witness"))
    env.setdefault("AUDIT_SEAL_ON_COMMIT", "0")
    env.setdefault("SECURE_SSL_REDIRECT", "0")
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def use(name: str) -> None:
    """Point this process's Django at database `name` (call before django.setup())."""
    os.environ["DATABASE_URL"] = url_for(name)
    production_env()


def main(name: str, run, *, repeats: int, settings: str | None = "bench.settings") -> None:
    """A benchmark module's command line: `--database` (and `--repeats`), Django set up on that database (with
    `settings`, or production's when None), then one JSON line with the module's figures."""
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--repeats", type=int, default=repeats)
    args = parser.parse_args()
    use(args.database)
    if settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings
    import django

    django.setup()
    print(json.dumps({"bench": name, **run(args.repeats)}))
