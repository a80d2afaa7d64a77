"""Reading typed settings from the environment, and from a `.env` file beside manage.py.

A real environment variable always wins over the same name in `.env`. `make run` writes a development `.env`
(DEBUG on, a generated SECRET_KEY; see README "Configuration"); a deployment sets real variables instead and has
no `.env`. Reading is all this does: nothing is written, and os.environ is left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

_file_values: dict[str, str] = {}


def parse_env_file(text: str) -> dict[str, str]:
    """NAME=value lines; blank lines and lines starting with # are skipped, `export ` is allowed, and a value may be
    wrapped in single or double quotes (kept as written inside them)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name] = value
    return values


def read_env_file(path: Path) -> dict[str, str]:
    """Use the values in `path` (if it exists) wherever the environment does not set a name. Returns them."""
    global _file_values
    try:
        _file_values = parse_env_file(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _file_values = {}
    return dict(_file_values)


def _get(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value is not None else _file_values.get(name)


def env(name: str, default: str = "") -> str:
    value = _get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = _get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = _get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]
