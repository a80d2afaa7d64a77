"""Import a spreadsheet register of agreements (one row per flow; see docs/import.md).

Every agreement is checked by the same rules as the API. Problems are reported by spreadsheet line. Without
`skip_bad`, one bad row means nothing is imported; with it, bad agreements are left out and the rest imported.
Imported agreements arrive as drafts: signatures must be given in the registry, by the parties themselves.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction

from common.limits import PURPOSE_MAX
from common.types import User

from . import services
from .rules import TermsInvalid

REQUIRED = ["agreement_key", "title", "purpose", "lead_agency", "start_date", "end_date", "review_date", "dataset",
            "provider", "recipient", "legal_bases"]
OPTIONAL = ["dpia_reference", "flow_purpose", "data_items", "method", "frequency", "retention"]
AGREEMENT_COLUMNS = ["title", "purpose", "lead_agency", "start_date", "end_date", "review_date", "dpia_reference"]
LIST_SEPARATOR = ";"


class ImportFailed(Exception):
    """Nothing was imported. `report` says why, line by line."""

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__("\n".join(report.problems))


@dataclass
class ImportReport:
    imported: list[tuple[str, str]] = field(default_factory=list)  # (agreement key, reference)
    skipped: list[str] = field(default_factory=list)  # agreement keys left out
    problems: list[str] = field(default_factory=list)  # "line 7: ..."


@dataclass
class _Group:
    key: str
    lines: list[int] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _date(value: str) -> date | None:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
    return None


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


def _read(text: str, report: ImportReport) -> list[_Group]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        report.problems.append("line 1: the file is empty; it needs a header row naming the columns.")
        return []
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        report.problems.append("line 1: the header is missing these columns: " + ", ".join(missing) + ".")
        return []
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if unknown:
        report.problems.append("line 1: unknown columns: " + ", ".join(unknown) + ". See docs/import.md.")
        return []
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:  # the reader would keep only the last column of a name, silently
        report.problems.append("line 1: these columns appear more than once: " + ", ".join(repeated)
                               + ". Keep one of each.")
        return []
    reader.fieldnames = header
    groups: dict[str, _Group] = {}
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # past the csv module's limit (131,072 characters); DictReader counts only good rows
            line = reader.reader.line_num
            report.problems.append(f"line {line}: {_unreadable(exc)} The file cannot be read past it, so nothing "
                                   "was imported.")
            return []
        line = reader.line_num
        extra, short = row.pop(None, None), any(value is None for value in row.values())
        row = {name: (value or "").strip() for name, value in row.items()}
        if not any(row.values()) and not extra:
            continue  # a blank line between blocks
        key = row["agreement_key"]
        if not key:
            report.problems.append(f"line {line}: agreement_key is empty; every row needs one.")
            continue
        group = groups.setdefault(key, _Group(key=key))
        if extra:
            group.problems.append(f"line {line}: there are more values than columns. A value containing a comma "
                                  "must be in double quotes.")
        elif short:
            group.problems.append(f"line {line}: there are fewer values than columns.")
        nul = [name for name, value in row.items() if "\x00" in value]
        if nul:  # PostgreSQL cannot store a NUL character, and a spreadsheet never means one
            group.problems.append(f"line {line}: {', '.join(nul)} holds a NUL character (\\0). Remove it.")
        if group.rows:
            first = group.rows[0]
            for name in AGREEMENT_COLUMNS:
                if name in row and row[name] and row[name] != first.get(name, ""):
                    group.problems.append(f"line {line}: {name} differs from line {group.lines[0]} for agreement "
                                          f"'{key}'. Agreement columns must match on every row of an agreement.")
        group.lines.append(line)
        group.rows.append(row)
    return list(groups.values())


def _unreadable(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (f"a value is longer than {csv.field_size_limit():,} characters, far past what any column "
                f"takes (a purpose at most {PURPOSE_MAX:,}). A quote mark left open makes the rest of the file "
                "one value: check the quotes.")
    return f"the line cannot be read as CSV ({exc})."


def _terms(group: _Group) -> dict[str, Any] | None:
    first, first_line = group.rows[0], group.lines[0]
    dates: dict[str, date | None] = {}
    for name in ("start_date", "end_date", "review_date"):
        dates[name] = _date(first[name])
        if first[name] and dates[name] is None:
            group.problems.append(f"line {first_line}: {name} '{first[name]}' is not a date. Use YYYY-MM-DD or "
                                  "DD/MM/YYYY.")
    if group.problems:
        return None
    return {
        "lead_agency": first["lead_agency"], "title": first["title"], "purpose": first["purpose"],
        "dpia_reference": first.get("dpia_reference", ""), **dates,
        "flows": [
            {"dataset": row["dataset"], "provider": row["provider"], "recipient": row["recipient"],
             "purpose": row.get("flow_purpose", ""), "legal_bases": _split(row["legal_bases"]),
             "data_items": _split(row.get("data_items", "")), "method": row.get("method", ""),
             "frequency": row.get("frequency", ""), "retention": row.get("retention", "")}
            for row in group.rows
        ],
    }


def _explain(group: _Group, exc: TermsInvalid) -> None:
    for message in exc.agreement_errors():
        group.problems.append(f"line {group.lines[0]}: {message}")
    for index, messages in sorted(exc.flow_errors().items()):
        group.problems.extend(f"line {group.lines[index]}: {message}" for message in messages)


def import_agreements(*, text: str, actor: User, source: str, skip_bad: bool = False) -> ImportReport:
    """Import the CSV `text`. Raises ImportFailed (having imported nothing) when anything is wrong, unless skip_bad."""
    report = ImportReport()
    groups = _read(text, report)
    if not groups and not report.problems:
        report.problems.append("The file has a header but no rows to import.")
    if report.problems and not skip_bad:
        raise ImportFailed(report)
    with transaction.atomic():
        for group in groups:
            terms = _terms(group) if not group.problems else None
            if terms is not None:
                try:
                    with transaction.atomic():
                        agreement = services.agreement_create(
                            actor=actor, check_permissions=False,
                            imported_from=f"{source} lines {_ranges(group.lines)}", **terms,
                        )
                    report.imported.append((group.key, agreement.reference))
                except TermsInvalid as exc:
                    _explain(group, exc)
            if group.problems:
                report.problems.extend(group.problems)
                report.skipped.append(group.key)
        report.problems.sort(key=_line_number)
        if report.problems and not skip_bad:
            report.imported.clear()
            raise ImportFailed(report)  # leaving the block by an exception rolls every agreement back
    return report


def _line_number(problem: str) -> int:
    head = problem.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0


def _ranges(lines: Iterable[int]) -> str:
    lines = sorted(lines)
    return f"{lines[0]}-{lines[-1]}" if len(lines) > 1 else str(lines[0])
