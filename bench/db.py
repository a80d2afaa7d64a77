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


STATE = Path(tempfile.gettempdir()) / "sharing-registry-bench"


def audit_env(name: str, env: dict[str, str] | os._Environ[str]) -> None:
    """Database `name`'s own signing key and witness directory, kept under STATE/name from its build to its last
    --keep run. A witness belongs to one log: with another database's witness (or key) its sealer would refuse to
    sign and re-walk the whole chain on every run, loading the machine the benchmarks measure. Values already in
    `env` win."""
    import base64

    folder = STATE / name
    key_file = folder / "signing.key"
    if not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    env.setdefault("AUDIT_SIGNING_KEY", key_file.read_text().strip())
    env.setdefault("AUDIT_WITNESS_DIR", str(folder / "witness"))


def recreate(name: str) -> str:
    """Drop and create database `name` (only ever names starting with sr_bench), with a new signing key and an
    empty witness (audit_env); returns its URL."""
    import shutil

    import psycopg2

    if not name.startswith("sr_bench"):
        raise ValueError("bench databases are named sr_bench*")
    shutil.rmtree(STATE / name, ignore_errors=True)
    admin = psycopg2.connect(url_for("postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return url_for(name)


def production_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Settings as in production: DEBUG off (no query log kept per cursor), a throwaway secret key, writers never
    sealing (beat does), no HTTPS redirect on 127.0.0.1. Keeps any value already set. The signing key and the witness
    belong to each database (audit_env)."""
    import base64

    env = os.environ if env is None else env
    env.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")
    env.setdefault("DEBUG", "0")
    env.setdefault("SECRET_KEY", "bench-" + base64.b64encode(os.urandom(24)).decode())
    env.setdefault("AUDIT_SEAL_ON_COMMIT", "0")
    env.setdefault("SECURE_SSL_REDIRECT", "0")
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def use(name: str) -> None:
    """Point this process's Django at database `name` (call before django.setup())."""
    os.environ["DATABASE_URL"] = url_for(name)
    production_env()
    audit_env(name, os.environ)


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
    import sharing_registry.wsgi  # noqa: F401 - settled as a gunicorn worker is (sharing_registry.wsgi.settle)

    print(json.dumps({"bench": name, **run(args.repeats)}))
