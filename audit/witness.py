"""The witness: every signed checkpoint is also appended, and fsynced, to files outside the database.

Someone who owns the database can rewrite rows, recompute hashes and delete checkpoints, but cannot reach this
directory (AUDIT_WITNESS_DIR: its own volume, ideally write-once storage; see docs/audit.md). The sealer only
signs a head that extends the latest witnessed checkpoint, and `verify_audit` checks that the database's
checkpoints contain every witnessed one.

Files are JSON Lines, one checkpoint a line, one file a month (`checkpoints-YYYY-MM.jsonl`), so reading the
latest entries never means reading years of them. Several web and worker processes share the directory: the
sealer holds an exclusive POSIX lock on `sealer.lock` (fcntl, which also works on NFS) while it signs and
appends, and every line is written with one `write` on an `O_APPEND` descriptor and fsynced before the lock goes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

LOCK_NAME = "sealer.lock"
PREFIX = "checkpoints-"
SUFFIX = ".jsonl"
# Each verification run, signed (audit.canonical.verification_message), in files of its own: the incremental anchor
# and the auditors' panel read them here, not from a database row the runtime role could insert.
VERIFICATIONS_PREFIX = "verifications-"
VERIFICATION_FIELDS = ("id", "ran_at", "ok", "kind", "from_position", "events", "verified_position",
                       "checkpoint_hash", "first_bad_position", "key_id", "signature")
# The fields of a witnessed checkpoint: everything needed to check its signature and where it chains.
FIELDS = ("position", "head_seq", "head_hash", "seq_high", "created_at", "prev_position", "prev_hash", "hash",
          "key_id", "signature")
# And, from when they were kept, the first digits of every hash it covers (audit.canonical.digests): with them a
# verifier names the first position that disagrees with the witness, not only the checkpoints around it.
OPTIONAL_FIELDS = ("digests",)

_thread_lock = threading.RLock()  # POSIX locks are per process: threads of one process also take this


class WitnessError(Exception):
    """The witness cannot be read or written."""


def directory() -> Path:
    if not settings.AUDIT_WITNESS_DIR:
        raise ImproperlyConfigured("AUDIT_WITNESS_DIR is not set (see docs/audit.md): checkpoints cannot be witnessed.")
    return Path(settings.AUDIT_WITNESS_DIR)


def _ensure_directory() -> Path:
    path = directory()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def sealer_lock() -> Iterator[None]:
    """One signer at a time across every process that shares the witness directory."""
    with _thread_lock:
        path = _ensure_directory() / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append(entry: dict) -> None:
    """Append one checkpoint and fsync it (and the directory, when the month's file is new)."""
    missing = [name for name in FIELDS if name not in entry]
    if missing:
        raise ValueError(f"a witnessed checkpoint needs {', '.join(missing)}")
    kept = {name: entry[name] for name in (*FIELDS, *OPTIONAL_FIELDS) if name in entry}
    _append_line(f"{PREFIX}{entry['created_at'][:7]}{SUFFIX}", kept)


def append_verification(entry: dict) -> None:
    """Append one signed verification run and fsync it."""
    missing = [name for name in VERIFICATION_FIELDS if name not in entry]
    if missing:
        raise ValueError(f"a witnessed verification needs {', '.join(missing)}")
    _append_line(f"{VERIFICATIONS_PREFIX}{entry['ran_at'][:7]}{SUFFIX}",
                 {name: entry[name] for name in VERIFICATION_FIELDS})


def _append_line(name: str, kept: dict) -> None:
    folder = _ensure_directory()
    path = folder / name
    line = json.dumps(kept, sort_keys=True, separators=(",", ":")) + "\n"
    created = not path.exists()
    if not created and _ends_torn(path):
        # A writer died mid-line: end that fragment, then leave one empty line, the mark readers take as "the line
        # above was torn and is skipped" (see _parse), rather than glue this entry onto it.
        line = "\n\n" + line
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        written = os.write(fd, line.encode("ascii"))
        if written != len(line):
            raise WitnessError(f"short write to the audit witness {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _fsync_directory(folder)


def _ends_torn(path: Path) -> bool:
    """The file does not end in a newline: its last line is a fragment a writer left when it died."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def _files(prefix: str = PREFIX) -> list[Path]:
    folder = directory()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(prefix) and p.name.endswith(SUFFIX))


def torn(lines: list[str], index: int) -> bool:
    """Whether the unparseable line `lines[index]` (of a file split on "\\n") is one a writer that died left: the
    last line, with no newline after it; or a line followed by the empty line `append` writes when it finds the
    file ending in such a fragment. Every other unparseable line is damage."""
    return index == len(lines) - 1 or (index + 2 < len(lines) and lines[index + 1] == "")


def _parse(path: Path, text: str, *, digests: bool = False, key: str = "position") -> Iterator[dict]:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or key not in entry:
                raise ValueError
        except ValueError:
            if torn(lines, index):  # the writer died mid-write, before its fsync returned
                logger.warning("ignoring a torn line (line %s) in the audit witness %s", index + 1, path)
                continue
            raise WitnessError(f"the audit witness {path} is damaged: line {index + 1} is not a witnessed checkpoint "
                               "(only a torn last line, or one the next write marked with an empty line after it, is "
                               "skipped)") from None
        if not digests:
            entry.pop("digests", None)  # only wanted to name a first bad position; large on a busy log
        yield entry


def read(*, position_from: int = 0, digests: bool = False) -> list[dict]:
    """Witnessed checkpoints at or after `position_from`, in position order (files before it are skipped); with
    `digests`, each keeps the digests of the positions it covers (when it was written with them)."""
    entries: list[dict] = []
    files = _files()
    for index, path in enumerate(files):
        # A later month's file starting at or before position_from means this one holds nothing needed.
        if position_from and index + 1 < len(files):
            first_next = _first(files[index + 1])
            if first_next is not None and first_next["position"] <= position_from:
                continue
        entries.extend(e for e in _parse(path, path.read_text("ascii"), digests=digests)
                       if e["position"] >= position_from)
    entries.sort(key=lambda e: (e["position"], e["created_at"]))
    return entries


def _first(path: Path) -> dict | None:
    with path.open("r", encoding="ascii") as handle:
        for line in handle:
            if line.strip():
                try:
                    return json.loads(line)
                except ValueError:
                    return None
    return None


def latest() -> dict | None:
    """The witnessed checkpoint at the highest position (reads only the end of the newest file)."""
    for path in reversed(_files()):
        size = path.stat().st_size
        chunk = 64 * 1024
        with path.open("rb") as handle:
            while True:
                start = max(0, size - chunk)
                handle.seek(start)
                data = handle.read(size - start).decode("ascii")
                entries = list(_parse(path, data if start == 0 else data.split("\n", 1)[-1]))
                if entries:
                    return max(entries, key=lambda e: e["position"])
                if start == 0:
                    break
                chunk *= 4
    return None


def verifications(*, limit: int = 100) -> list[dict]:
    """The newest witnessed verification runs, newest first (as appended; at most `limit`). Their signatures are
    the reader's to check (audit.chain.witnessed_verifications)."""
    found: list[dict] = []
    for path in reversed(_files(VERIFICATIONS_PREFIX)):
        entries = list(_parse(path, path.read_text("ascii"), key="signature"))
        found.extend(reversed(entries))
        if len(found) >= limit:
            break
    return found[:limit]
