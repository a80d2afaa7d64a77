"""A throwaway PostgreSQL database for benchmarks, made fresh and migrated before Django is set up."""

from __future__ import annotations

import os
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


def use(name: str) -> None:
    """Point this process's Django at database `name` (call before django.setup())."""
    os.environ["DATABASE_URL"] = url_for(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharing_registry.settings")
    os.environ["DEBUG"] = "1"
