"""The frontline question: "may I share dataset D from agency P with agency R, on date X?"

`decide()` answers from the register as it stood at that moment: the version in force then, its
periods of suspension, its dates and its review. It costs one query (the flows that could apply, each with its
period, its agreement and its legal bases, and what the register holds under the question's codes), and two when
the answer names who has still to sign; the audit write that `check()` adds makes three at most.

This is the product's hottest path, so that one query is compiled once per process from the models' own
metadata and sent as SQL (on PostgreSQL as a prepared statement, common.prepared, so it is planned once per
connection, as is the small statement of who has still to sign),
and its rows are read as the ORM reads them (`sql.RowReader`) into plain row objects (`_Candidate`): the ORM's
per-call compilation cost several times the query itself, and building model instances more than the query.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

from agencies.models import Agency, Dataset
from agencies.selectors import user_agency_codes
from audit.choices import AuditAction
from audit.services import record
from common import prepared
from common.types import User

from . import sql
from .choices import AgreementStatus, CheckOutcome, Frequency, Method, PeriodState, VersionState
from .models import (
    Agreement,
    AgreementGroupObjectPermission,
    AgreementPeriod,
    AgreementVersion,
    Flow,
    LegalBasis,
    Party,
)


@dataclass(frozen=True)
class _AgencyRef:
    """Enough of an agency for the audit record (its id and code) without loading it again."""

    pk: int | None
    code: str


class UnknownCodes(Exception):
    """Some codes in the question name nothing in the register. `errors` is DRF-shaped."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Basis:
    code: str
    citation: str
    title: str
    description: str
    guidance: str = ""


@dataclass
class Decision:
    allowed: bool
    reason: str
    next_step: str
    provider: str
    recipient: str
    dataset: str
    on: dt.date
    agreement: str | None = None
    agreement_title: str | None = None
    version: int | None = None
    legal_bases: list[Basis] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)
    data_items: list[str] = field(default_factory=list)
    method: str | None = None
    frequency: str | None = None
    retention: str | None = None
    contact: str | None = None
    caldicott_guardian: str | None = None
    dpo_name: str | None = None
    provider_name: str | None = None
    next_steps: list[str] = field(default_factory=list)
    suspension_reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    outcome: str = ""
    checked_at: dt.datetime | None = None
    event: int | None = None
    provider_id: int | None = None

    def __post_init__(self) -> None:
        if not self.next_steps and self.next_step:
            self.next_steps = [self.next_step]

    @property
    def provider_contacts(self) -> dict[str, str | None] | None:
        """Who at the provider answers questions, as its record holds them."""
        if self.provider_name is None:
            return None
        return {"agency": self.provider, "name": self.provider_name, "dpo_name": self.dpo_name,
                "dpo_email": self.contact, "caldicott_guardian": self.caldicott_guardian}

    def as_detail(self, *, purpose: str, data_items: list[str] | None) -> dict[str, Any]:
        """The check's audit event. What the caller sent is echoed within fixed limits (the log is never cleaned),
        and `truncated` says when something was cut; the reason already names the items, so it is cut too."""
        items = list(data_items or [])
        detail = {
            "provider": self.provider,
            "recipient": self.recipient,
            "dataset": self.dataset,
            "purpose": _clip(purpose, CHECK_DETAIL_TEXT_MAX),
            "data_items": [_clip(item, CHECK_DETAIL_ITEM_MAX) for item in items[:CHECK_DETAIL_ITEMS_MAX]],
            "on": self.on.isoformat(),
            "allowed": self.allowed,
            "outcome": self.outcome,
            "reason": _clip(self.reason, CHECK_DETAIL_TEXT_MAX),
            "agreement": self.agreement,
            "version": self.version,
            "legal_bases": [b.code for b in self.legal_bases],
            "warnings": self.warnings,
        }
        if (len(items) > CHECK_DETAIL_ITEMS_MAX or detail["purpose"] != purpose or detail["reason"] != self.reason
                or detail["data_items"] != items):
            detail["truncated"] = {"purpose": len(purpose), "data_items": len(items), "reason": len(self.reason)}
        return detail


# What a check's audit event keeps of the caller's input (audit.services.record caps every event's detail too).
CHECK_DETAIL_TEXT_MAX = 1000
CHECK_DETAIL_ITEMS_MAX = 40
CHECK_DETAIL_ITEM_MAX = 100


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} characters]"


_PENDING = {CheckOutcome.NOT_YET_IN_FORCE, CheckOutcome.AWAITING_SIGNATURES, CheckOutcome.DRAFT}


def _relevance(outcome: CheckOutcome, flow: _Candidate) -> tuple[int, float]:
    """Which agreement answers when several could (a lower key wins): the outcome's rank, except that agreements
    no longer in force at the moment asked about (suspended, revoked or expired) rank together, the one most
    recently in force first (one suspended at that moment is the most recent of all)."""
    if flow.period_state == PeriodState.IN_FORCE or outcome not in (
        CheckOutcome.SUSPENDED, CheckOutcome.REVOKED, CheckOutcome.EXPIRED
    ):
        return outcome.rank, 0.0
    if outcome == CheckOutcome.SUSPENDED:
        return CheckOutcome.SUSPENDED.rank, float("-inf")
    ended = flow.last_ended_at
    return CheckOutcome.SUSPENDED.rank, -ended.timestamp() if ended else 0.0


def _moment(on: dt.date, now: dt.datetime) -> dt.datetime:
    """The instant a check about `on` looks at: now for today or later, the close of that day for a past date."""
    if on >= timezone.localdate(now):
        return now
    close = dt.datetime.combine(on + dt.timedelta(days=1), dt.time.min)
    return timezone.make_aware(close) - dt.timedelta(microseconds=1)


def _fmt(day: dt.date | dt.datetime) -> str:
    if isinstance(day, dt.datetime):
        day = timezone.localdate(day)
    return f"{day.day} {day:%B %Y}"


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- the candidates' rows: what the check reads of each, as plain objects ------------------------------------------
# A candidate's models are read into these rather than into model instances: building six instances a row cost more
# than its query did, and a field the check does not select cannot be read by mistake (a deferred field of a model
# instance would cost a query of its own, silently). The fields of each class named in _SELECTED are its model's
# fields, in the order the query selects them ("pk" the primary key).


@dataclass(frozen=True, slots=True)
class _AgencyRow:
    pk: int
    code: str
    name: str
    dpo_name: str
    dpo_email: str
    caldicott_guardian_name: str


@dataclass(frozen=True, slots=True)
class _DatasetRow:
    pk: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class _AgreementRow:
    pk: int
    reference: str
    status: str
    in_force_version_id: int | None


@dataclass(frozen=True, slots=True)
class _VersionColumns:
    pk: int
    agreement_id: int
    number: int
    state: str
    title: str
    start_date: dt.date
    end_date: dt.date
    review_date: dt.date


@dataclass(frozen=True, slots=True)
class _VersionRow(_VersionColumns):
    agreement: _AgreementRow


@dataclass(frozen=True, slots=True)
class _FlowColumns:
    pk: int
    purpose: str
    data_items: list[str] | None
    method: str
    frequency: str
    retention: str


_METHOD_LABELS, _FREQUENCY_LABELS = dict(Method.choices), dict(Frequency.choices)


@dataclass(frozen=True, slots=True)
class _Candidate(_FlowColumns):
    """A flow that could bear on the question, with its version (and agreement), dataset and agencies; the state and
    reason of the period that covered the moment asked about, the agreement's last end and first start; the flow's
    legal bases, in kind and code order; and whether the asker holds a view grant on its agreement."""

    version: _VersionRow
    dataset: _DatasetRow
    provider: _AgencyRow
    recipient: _AgencyRow
    period_state: str | None
    last_ended_at: dt.datetime | None
    first_started_at: dt.datetime | None
    period_reason: str | None
    bases: list[Basis]
    asker_grant: bool

    @property
    def method_label(self) -> str:
        """As Flow.get_method_display() says it."""
        return str(_METHOD_LABELS.get(self.method, self.method))

    @property
    def frequency_label(self) -> str:
        """As Flow.get_frequency_display() says it."""
        return str(_FREQUENCY_LABELS.get(self.frequency, self.frequency))


_SELECTED: list[tuple[str, type[Model], type]] = [
    ("f", Flow, _FlowColumns), ("v", AgreementVersion, _VersionColumns), ("a", Agreement, _AgreementRow),
    ("d", Dataset, _DatasetRow), ("p", Agency, _AgencyRow), ("r", Agency, _AgencyRow),
]


# What the register holds under a question's codes, keyed ("agency", code) or ("dataset", code).
_Held = dict[tuple[str, str], _AgencyRow | _DatasetRow]

_R = TypeVar("_R")


def _row(cls: type[_R], *values: Any) -> _R:
    """A row object from its values in its fields' order (a type checker cannot count a slice's values)."""
    return cls(*values)


def _model_fields(model: type[Model], row: type) -> list[Field]:
    """The model's fields that a row class holds, in its order ("pk" the primary key)."""
    return [cast(Field, model._meta.get_field("id" if item.name == "pk" else item.name)) for item in fields(row)]


# --- the candidate flows: one hand-compiled query --------------------------------------------------------------


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _col(model: Any, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)




def _statements() -> dict[str, str]:
    """The small fixed statement a check may add (which parties have still to sign), from the models' tables and
    columns."""
    # Identifiers from the models, values as parameters.
    return {
        "unsigned": f"SELECT g.{_col(Agency, 'name')} FROM {_table(Party)} x "  # noqa: S608
                    f"JOIN {_table(Agency)} g ON g.{_col(Agency, 'id')} = x.{_col(Party, 'agency')} "
                    f"WHERE x.{_col(Party, 'version')} = %(version)s AND x.{_col(Party, 'signed_at')} IS NULL "
                    f"ORDER BY g.{_col(Agency, 'name')}",
    }


_STATEMENTS: dict[str, dict[str, str]] = {}


def _sql(name: str) -> str:
    statements = _STATEMENTS.get(connection.vendor) or _STATEMENTS.setdefault(connection.vendor, _statements())
    return statements[name]


class _CandidateQuery:
    """The SQL, and the per-column converters, for "every flow that could bear on the question". Built once per
    database vendor from the models' metadata, so it cannot drift from the models' tables and columns."""

    def __init__(self) -> None:
        columns: list[str] = []
        self.spans: list[tuple[int, int]] = []  # where each of _SELECTED's rows lies in a row of the query
        self.fields: list[Field] = []
        for alias, model, row in _SELECTED:
            selected = _model_fields(model, row)
            self.spans.append((len(columns), len(columns) + len(selected)))
            self.fields += selected
            columns += [f"{alias}.{connection.ops.quote_name(f.column or f.attname)}" for f in selected]
        # Then: the state of the period covering the moment, the last period's end, the first period's start, the
        # reason the covering period began (a suspension's), the flow's legal bases as a JSON array of
        # [code, citation, title, description, kind, guidance], and whether the asker holds a view grant on the
        # agreement (_asker_grant).
        self.extra_at = len(columns)
        self.fields += [cast(Field, AgreementPeriod._meta.get_field(name))
                        for name in ("state", "ended_at", "started_at", "reason")]
        self.reader = sql.RowReader(self.fields)

        P, V, B, T = AgreementPeriod, AgreementVersion, LegalBasis, Flow.legal_bases.through  # noqa: N806
        started, ended = _col(P, "started_at"), _col(P, "ended_at")
        of_agreement = f"x.{_col(P, 'agreement')} = v.{_col(V, 'agreement')}"
        covering = (f"FROM {_table(P)} x WHERE x.{_col(P, 'version')} = f.{_col(Flow, 'version')} "
                    f"AND x.{started} <= %(moment)s AND (x.{ended} IS NULL OR x.{ended} > %(moment)s) "
                    f"ORDER BY x.{started} DESC LIMIT 1")
        pg = connection.vendor == "postgresql"
        array = "json_build_array({})::text" if pg else "json_array({})"
        basis_fields = ", ".join(f"b.{_col(B, n)}" for n in ("code", "citation", "title", "description", "kind",
                                                               "guidance"))
        bases = (f"json_agg(json_build_array({basis_fields}))::text" if pg
                 else f"json_group_array(json_array({basis_fields}))")
        columns += [  # identifiers from the models, values as parameters
            f"(SELECT x.{_col(P, 'state')} {covering})",
            f"(SELECT x.{ended} FROM {_table(P)} x WHERE {of_agreement} ORDER BY x.{started} DESC LIMIT 1)",  # noqa: S608
            f"(SELECT x.{started} FROM {_table(P)} x WHERE {of_agreement} ORDER BY x.{started} ASC LIMIT 1)",  # noqa: S608
            f"(SELECT x.{_col(P, 'reason')} {covering})",
            f"(SELECT {bases} FROM {_table(T)} fb JOIN {_table(B)} b "  # noqa: S608
            f"ON b.{_col(B, 'id')} = fb.{_col(T, 'legalbasis')} WHERE fb.{_col(T, 'flow')} = f.{_col(Flow, 'id')})",
            _asker_grant(),
        ]
        code = {alias: f"{alias}.{_col(Agency, 'code')}" for alias in ("p", "r")}
        # Every candidate column is named c0, c1, ... and read through a LEFT JOIN from one row, so that a question
        # no flow matches still gets a row (its candidate columns NULL). After them: what the register holds under
        # each of the question's three codes, as JSON arrays of an _AgencyRow's or a _DatasetRow's fields, NULL for
        # a code it does not hold. No answer then needs
        # a query of its own for names, and the answer that names nothing costs what the others cost.
        agency, held_dataset = (array.format(", ".join(connection.ops.quote_name(f.column or f.attname)
                                                       for f in _model_fields(model, row)))
                                for model, row in ((Agency, _AgencyRow), (Dataset, _DatasetRow)))
        self.codes_at = len(columns)
        number = self.spans[1][0] + [item.name for item in fields(_VersionColumns)].index("number")
        flow_id = self.spans[0][0]  # the flow's own "pk" comes first
        self.sql = f"""
SELECT {", ".join(f"c.c{i}" for i in range(len(columns)))},
  (SELECT {agency} FROM {_table(Agency)} WHERE {_col(Agency, "code")} = %(provider)s),
  (SELECT {agency} FROM {_table(Agency)} WHERE {_col(Agency, "code")} = %(recipient)s),
  (SELECT {held_dataset} FROM {_table(Dataset)} WHERE {_col(Dataset, "code")} = %(dataset)s)
FROM (SELECT 1 AS one) q LEFT JOIN (
SELECT {", ".join(f"{column} AS c{i}" for i, column in enumerate(columns))}
FROM {_table(Flow)} f
JOIN {_table(Agency)} p ON p.{_col(Agency, "id")} = f.{_col(Flow, "provider")}
JOIN {_table(Agency)} r ON r.{_col(Agency, "id")} = f.{_col(Flow, "recipient")}
JOIN {_table(Dataset)} d ON d.{_col(Dataset, "id")} = f.{_col(Flow, "dataset")}
JOIN {_table(V)} v ON v.{_col(V, "id")} = f.{_col(Flow, "version")}
JOIN {_table(Agreement)} a ON a.{_col(Agreement, "id")} = v.{_col(V, "agreement")}
WHERE {code["p"]} IN (%(provider)s, %(recipient)s) AND {code["r"]} IN (%(provider)s, %(recipient)s)
  AND (d.{_col(Dataset, "code")} = %(dataset)s OR ({code["p"]} = %(provider)s AND {code["r"]} = %(recipient)s))
) c ON 1 = 1
ORDER BY c.c{number} DESC, c.c{flow_id} ASC"""  # noqa: S608 - identifiers from the models

    def read(self, rows: list[tuple[Any, ...]], provider: str, recipient: str,
             dataset: str) -> tuple[list[_Candidate], _Held]:
        """The candidates, and what the register holds under the question's codes (keyed ("agency", code) or
        ("dataset", code); a code it does not hold is absent)."""
        out = []
        for raw in rows:
            if raw[0] is None:  # the one row of a question no flow matched
                continue
            row = self.reader.values(connection, raw)
            flow, version, agreement, held_dataset, held_provider, held_recipient = (
                row[begin:end] for begin, end in self.spans)
            extra = row[self.extra_at:self.codes_at]
            listed = json.loads(extra[4]) if isinstance(extra[4], str) else (extra[4] or [])
            bases = [Basis(code, citation, title, description, guidance or "")
                     for code, citation, title, description, _kind, guidance
                     in sorted(listed, key=lambda b: (b[4], b[0]))]
            out.append(_row(
                _Candidate, *flow, _row(_VersionRow, *version, _row(_AgreementRow, *agreement)),
                _row(_DatasetRow, *held_dataset), _row(_AgencyRow, *held_provider), _row(_AgencyRow, *held_recipient),
                *extra[:4],
                bases, bool(extra[5]),
            ))
        held = [json.loads(value) if value else None for value in rows[0][self.codes_at:]]
        found: _Held = {
            (kind, code): _row(row, *values)
            for (kind, code, row), values in zip((("agency", provider, _AgencyRow), ("agency", recipient, _AgencyRow),
                                                  ("dataset", dataset, _DatasetRow)), held, strict=True) if values}
        return out, found


_QUERIES: dict[str, _CandidateQuery] = {}


def _asker_grant() -> str:
    """SQL for one candidate row: 1 when the asker (%(asker)s, NULL for none) holds `view_agreement` on the row's
    agreement through one of their groups, as selectors._view_grants reads grants; else NULL. A scalar subquery
    with LIMIT 1 is one probe of guardian's unique index (group, permission, agreement) per row (the register's
    pages probe the same way, `sql.Probe`): IN or EXISTS over the grants is planned by PostgreSQL as a hash of
    every grant the asker holds, ten thousand for an auditor of a hub agency, on every check."""
    G, M = AgreementGroupObjectPermission, get_user_model().groups.through  # noqa: N806
    P, C = Permission, ContentType  # noqa: N806
    # Identifiers from the models, values as parameters.
    permission = (f"SELECT p.{_col(P, 'id')} FROM {_table(P)} p "  # noqa: S608
                  f"JOIN {_table(C)} c ON c.{_col(C, 'id')} = p.{_col(P, 'content_type')} "
                  f"WHERE p.{_col(P, 'codename')} = %(grant_codename)s AND c.{_col(C, 'app_label')} = %(grant_app)s "
                  f"AND c.{_col(C, 'model')} = %(grant_model)s")
    return (f"(SELECT 1 FROM {_table(G)} g JOIN {_table(M)} m ON m.{_col(M, 'group')} = g.{_col(G, 'group')} "  # noqa: S608
            f"WHERE g.{_col(G, 'content_object')} = a.{_col(Agreement, 'id')} AND m.{_col(M, 'user')} = %(asker)s "
            f"AND g.{_col(G, 'permission')} = ({permission} LIMIT 1) LIMIT 1)")


_VIEW_GRANT = {"grant_codename": f"view_{Agreement._meta.model_name}", "grant_app": Agreement._meta.app_label,
               "grant_model": Agreement._meta.model_name}


def _candidate_flows(provider: str, recipient: str, dataset: str, moment: dt.datetime, asker: User | None = None,
                     ) -> tuple[list[_Candidate], _Held]:
    """Every flow that could bear on the question, each with the period that covered `moment`, its version,
    agreement, dataset, agencies and legal bases (`flow.bases`, in kind and code order), and whether `asker` holds
    a view grant on its agreement (`flow.asker_grant`); and what the register holds under the question's three
    codes. One query."""
    query = _QUERIES.get(connection.vendor) or _QUERIES.setdefault(connection.vendor, _CandidateQuery())
    params = {"provider": provider, "recipient": recipient, "dataset": dataset,
              "moment": connection.ops.adapt_datetimefield_value(moment),
              "asker": asker.pk if asker is not None else None, **_VIEW_GRANT}
    with connection.cursor() as cursor:
        prepared.execute(cursor, "check_candidates", query.sql, params, _PG_TYPES["check_candidates"])
        return query.read(cursor.fetchall(), provider, recipient, dataset)


# Parameter types of each prepared statement, in the order of $1, $2, ... (common.prepared): planning the six-table
# candidate join cost several times executing it, and the small statement cost more to plan than to run too.
_PG_TYPES = {
    "check_candidates": {"provider": "text", "recipient": "text", "dataset": "text", "moment": "timestamptz",
                         "asker": "integer", "grant_codename": "text", "grant_app": "text", "grant_model": "text"},
    "check_unsigned": {"version": "bigint"},
}


def _judge(flow: _Candidate, *, on: dt.date, provider: str, dataset: str,
           items: list[str] | None) -> CheckOutcome | None:
    """The outcome for one flow at the moment asked about (before any further lookups); None when the flow does
    not speak for its agreement (a superseded or withdrawn version, or an amendment beside the version in force)."""
    version, agreement = flow.version, flow.version.agreement
    if flow.dataset.code != dataset:
        return CheckOutcome.DATASET_NOT_COVERED
    if flow.provider.code != provider:
        return CheckOutcome.WRONG_DIRECTION
    if flow.period_state == PeriodState.IN_FORCE:
        if on < version.start_date:
            return CheckOutcome.NOT_YET_STARTED
        if on > version.end_date:
            return CheckOutcome.EXPIRED
        if on > version.review_date + dt.timedelta(days=settings.REVIEW_GRACE_DAYS):
            return CheckOutcome.REVIEW_LAPSED
        if items and not set(items) <= set(flow.data_items or []):
            return CheckOutcome.ITEMS_NOT_COVERED
        return CheckOutcome.ALLOWED
    if flow.period_state == PeriodState.SUSPENDED:
        return CheckOutcome.SUSPENDED
    # No period covered the moment: why not?
    if agreement.in_force_version_id and agreement.in_force_version_id != version.pk and version.state in (
        VersionState.DRAFT, VersionState.SUBMITTED, VersionState.REJECTED
    ):
        return None  # an amendment, in progress or rejected: the in-force version's flows speak for the agreement
    if version.state in (VersionState.DRAFT, VersionState.SUBMITTED):
        return CheckOutcome.AWAITING_SIGNATURES if version.state == VersionState.SUBMITTED else CheckOutcome.DRAFT
    if version.state in (VersionState.SUPERSEDED, VersionState.WITHDRAWN):
        return None
    if version.state == VersionState.REJECTED:
        return CheckOutcome.REJECTED
    if agreement.status == AgreementStatus.REVOKED:
        return CheckOutcome.REVOKED
    if agreement.status == AgreementStatus.EXPIRED or on > version.end_date:
        return CheckOutcome.EXPIRED
    return CheckOutcome.NOT_YET_IN_FORCE


def _outsider(asker: User | None, provider: str, recipient: str) -> bool:
    """An asker who belongs to neither agency (an auditor of a third one): they see only what the register shows
    them. Members of the provider or the recipient are parties to every agreement with a flow between them."""
    return asker is not None and not asker.is_superuser and not {provider, recipient} & user_agency_codes(asker)


def _shown_to(judged: list[tuple[Any, CheckOutcome, _Candidate]]) -> tuple[list, set[int]]:
    """The candidates whose agreements an outsider may see, and which of those they see in full: the register's
    rule (selectors.AgreementSearch: the full record with a view grant, the summary of an
    agreement in force), read from what the candidates' query brought along (the agreement's status, the asker's
    grant), so it costs no query. tests/agreements/test_check_visibility.py holds the two to the same answers."""
    shown = [row for row in judged
             if row[2].asker_grant or row[2].version.agreement.status == AgreementStatus.ACTIVE]
    return shown, {flow.version.agreement_id for _, _, flow in shown if flow.asker_grant}


def decide(
    *, provider: str, recipient: str, dataset: str, on: dt.date | None = None, data_items: list[str] | None = None,
    asker: User | None = None,
) -> Decision:
    """The decision alone (no audit). Raises UnknownCodes when a code names nothing.

    It names only agreements `asker` may see in the register; without an asker it speaks for the registry itself.
    """
    now = timezone.now()
    on = on or timezone.localdate(now)
    moment = _moment(on, now)
    base = {"provider": provider, "recipient": recipient, "dataset": dataset, "on": on, "checked_at": now}

    candidates, found = _candidate_flows(provider, recipient, dataset, moment, asker)
    judged = [
        (_relevance(outcome, flow), outcome, flow)
        for flow in candidates
        if (outcome := _judge(flow, on=on, provider=provider, dataset=dataset, items=data_items)) is not None
    ]
    outsider = _outsider(asker, provider, recipient)
    shown, full = _shown_to(judged) if outsider else (judged, None)
    if not shown:
        # An outsider hears the same whether nothing exists or nothing they may see: existence is not leaked (and
        # both cost the same one query).
        return _no_agreement(base, found=_known_codes(found, provider, recipient, dataset), hidden=outsider)
    shown.sort(key=lambda row: row[0])
    _, outcome, flow = shown[0]
    dataset_name = dataset
    if outcome == CheckOutcome.DATASET_NOT_COVERED:
        # Is the dataset the agreement lacks in the register at all, and what is it called?
        dataset_name = _known_codes(found, provider, recipient, dataset)[("dataset", dataset)].name
    decision = _explain(outcome, flow, base, on=on, items=data_items,
                        others=[f for _, o, f in shown if o == outcome], dataset_name=dataset_name,
                        full=full is None or flow.version.agreement_id in full)
    if not decision.allowed and outcome not in _PENDING:
        pending = next((f for _, o, f in shown if o in _PENDING
                        and f.version.agreement_id != flow.version.agreement_id), None)
        if pending is not None:
            state = "a draft" if pending.version.state == VersionState.DRAFT else "awaiting signatures"
            decision.reason += (f" Agreement {pending.version.agreement.reference} (“{pending.version.title}”), "
                                f"which would cover this, is {state}.")
    return decision


def _known_codes(found: _Held, provider: str, recipient: str,
                 dataset: str) -> _Held:
    """`found` (what the register holds under the question's codes, read with the candidates), once every code is
    known. Raises UnknownCodes naming each code that is not in the register.
    """
    errors: dict[str, list[str]] = {}
    for name, code in (("provider", provider), ("recipient", recipient)):
        if ("agency", code) not in found:
            errors[name] = [f"There is no agency with the code “{code}”."]
    if ("dataset", dataset) not in found:
        errors["dataset"] = [f"There is no dataset with the code “{dataset}”."]
    if provider == recipient and "provider" not in errors:
        errors["recipient"] = ["The recipient must be a different agency from the provider."]
    if errors:
        raise UnknownCodes(errors)
    return found


def _no_agreement(base: dict[str, Any], *, found: _Held, hidden: bool = False) -> Decision:
    provider = cast(_AgencyRow, found[("agency", base["provider"])])
    recipient = cast(_AgencyRow, found[("agency", base["recipient"])])
    dataset = found[("dataset", base["dataset"])]
    dpo = _dpo(provider)
    people = _contacts(provider)
    if hidden:  # agreements exist, but not any this asker may see: say so without naming them
        return Decision(
            allowed=False,
            outcome=CheckOutcome.NOT_VISIBLE,
            reason=(f"No: there is no agreement in force that I can show you for sharing {dataset.name} "
                    f"from {provider.name} with {recipient.name}."),
            next_step=f"Ask {dpo}, or a governance officer of {provider.name} or {recipient.name}.",
            **people,
            **{**base, "provider_id": provider.pk},
        )
    return Decision(
        allowed=False,
        outcome=CheckOutcome.NO_AGREEMENT,
        reason=(
            f"No: there is no information-sharing agreement for sharing {dataset.name} "
            f"from {provider.name} with {recipient.name}."
        ),
        next_step=(
            "Do not share under the registry. If someone is at immediate risk, follow your safeguarding "
            f"procedure and speak to {_guardian_or_yours(provider)} or {dpo} today: the law may still allow sharing "
            "without an agreement."
        ),
        **people,
        **{**base, "provider_id": provider.pk},
    )


def _dpo(agency: _AgencyRow) -> str:
    """The provider's DPO, by name where its record holds one."""
    name = agency.dpo_name.strip()
    return ((f"{name}, " if name else "") + f"the Data Protection Officer of {agency.name}"
            + (f" ({agency.dpo_email})" if agency.dpo_email else ""))


def _guardian_or_yours(agency: _AgencyRow) -> str:
    """The provider's Caldicott Guardian by name when its record holds one."""
    name = agency.caldicott_guardian_name.strip()
    return f"{name}, the Caldicott Guardian of {agency.name}," if name else "your Caldicott Guardian"


def _contacts(agency: _AgencyRow) -> dict[str, Any]:
    """Who at the provider answers questions, as the agency record holds them."""
    return {"contact": agency.dpo_email or None, "dpo_name": agency.dpo_name.strip() or None,
            "caldicott_guardian": agency.caldicott_guardian_name.strip() or None, "provider_name": agency.name}


# Bases whose guidance comes first: consent must be got before anything is shared.
_CONSENT_FIRST = ("ukgdpr-9-2-a", "ukgdpr-6-1-a", "common-law-confidentiality-consent")


def _guidance(bases: list[Basis], provider: _AgencyRow) -> list[str]:
    """What to do next under these legal bases: each basis's one line from the catalogue, consent first, each
    once; "your Data Protection Officer" and "your Caldicott Guardian" named where the provider's record holds
    them."""
    ordered = sorted(bases, key=lambda b: (_CONSENT_FIRST.index(b.code) if b.code in _CONSENT_FIRST
                                           else len(_CONSENT_FIRST)))
    lines = list(dict.fromkeys(b.guidance.strip() for b in ordered if b.guidance.strip()))
    guardian = provider.caldicott_guardian_name.strip()
    named = []
    for line in lines:
        if guardian:
            line = line.replace("your Caldicott Guardian", f"{guardian}, the Caldicott Guardian of {provider.name}")
        line = line.replace("your Data Protection Officer", _dpo(provider))
        named.append(line)
    return named


def _explain(outcome: str, flow: _Candidate, base: dict[str, Any], *, on: dt.date, items: list[str] | None,
             others: list[_Candidate], dataset_name: str, full: bool = True) -> Decision:
    """The answer for the chosen flow. With `full` False (an asker who sees only the agreement's public summary),
    it leaves out what only the full record holds: the flow's purpose, data items, method, frequency and
    retention."""
    decision = _explain_flow(outcome, flow, base, on=on, items=items, others=others, dataset_name=dataset_name)
    if not full:
        decision.purposes, decision.data_items = [], []
        decision.method = decision.frequency = decision.retention = None
        if decision.allowed:
            cited = _names([b.citation for b in decision.legal_bases])
            decision.reason = (f"Yes, you may share this: Agreement {decision.agreement} "
                               f"(“{decision.agreement_title}”) covers it under {cited}.")
            decision.next_steps = [*decision.next_steps[:-1], "Share only what is needed, and record what you shared "
                                                              "and why."]
            decision.next_step = " ".join(decision.next_steps)
        elif decision.suspension_reason:  # the reason is for those who see the agreement in full
            decision.reason = decision.reason.removesuffix(_quoted_reason(decision.suspension_reason))
            decision.suspension_reason = None
        elif outcome == CheckOutcome.ITEMS_NOT_COVERED:
            decision.reason = f"No: Agreement {decision.agreement} does not cover all of these items."
    return decision


def _explain_flow(outcome: str, flow: _Candidate, base: dict[str, Any], *, on: dt.date, items: list[str] | None,
                  others: list[_Candidate], dataset_name: str) -> Decision:
    version, agreement = flow.version, flow.version.agreement
    provider_agency = flow.provider if flow.provider.code == base["provider"] else flow.recipient
    common = {
        **base,
        "provider_id": provider_agency.pk,
        "agreement": agreement.reference,
        "agreement_title": version.title,
        "version": version.number,
        **_contacts(provider_agency),
        "outcome": outcome,
    }
    ref = f"Agreement {agreement.reference} (“{version.title}”)"
    ask_dpo = f"Ask {_dpo(provider_agency)} before sharing."

    if outcome in ("allowed", "items_not_covered"):
        bases = flow.bases
        common.update(
            legal_bases=bases,
            purposes=[flow.purpose],
            data_items=list(flow.data_items or []),
            method=flow.method_label,
            frequency=flow.frequency_label,
            retention=flow.retention or None,
        )
        if outcome == "items_not_covered":
            missing = sorted(set(items or []) - set(flow.data_items or []))
            return Decision(
                allowed=False,
                reason=(
                    f"No: {ref} does not cover {_names(missing)}. It covers only: "
                    f"{_names(list(flow.data_items or []))}."
                ),
                next_step="Share only the items the agreement covers, or ask for the agreement to be amended.",
                **common,
            )
        warnings = []
        if on > version.review_date:
            warnings.append(
                f"The review of this agreement was due on {_fmt(version.review_date)} and is overdue. "
                f"It lapses {settings.REVIEW_GRACE_DAYS} days after that date."
            )
        cited = _names([b.citation for b in bases])
        steps = [*_guidance(bases, provider_agency),
                 "Share only what is needed for that purpose"
                 + (f", by {flow.method_label.lower()}" if flow.method else "")
                 + ", and record what you shared and why."]
        return Decision(
            allowed=True,
            reason=f"Yes, you may share this: {ref} covers it under {cited}, for: {flow.purpose}",
            next_step=" ".join(steps),
            next_steps=steps,
            warnings=warnings,
            **common,
        )

    suspension_reason = (flow.period_reason or "").strip() or None if outcome == CheckOutcome.SUSPENDED else None
    if outcome == "awaiting_signatures":
        with connection.cursor() as cursor:  # the second query
            prepared.execute(cursor, "check_unsigned", _sql("unsigned"), {"version": version.pk},
                             _PG_TYPES["check_unsigned"])
            unsigned = [name for (name,) in cursor.fetchall()]
        return Decision(
            allowed=False,
            reason=f"No: {ref} is not yet approved. It still needs signing by {_names(unsigned)}.",
            next_step="Do not share under it until every party has signed. Ask your governance officer to chase it.",
            **common,
        )
    reasons = {
        "review_lapsed": (
            f"No: the review of {ref} has lapsed. It was due on {_fmt(version.review_date)}, more than "
            f"{settings.REVIEW_GRACE_DAYS} days before {_fmt(on)}.",
            "Ask your governance officer to review and renew the agreement. " + ask_dpo,
        ),
        "not_yet_started": (
            f"No: {ref} does not start until {_fmt(version.start_date)}.",
            "Wait until the agreement starts. " + ask_dpo,
        ),
        "not_yet_in_force": (
            f"No: {ref} was not yet in force on {_fmt(on)}"
            + (f"; it came into force on {_fmt(flow.first_started_at)}." if flow.first_started_at else "."),
            ask_dpo,
        ),
        "suspended": (
            f"No: {ref} is suspended" + (" now." if on >= timezone.localdate() else f" on {_fmt(on)}.")
            + (_quoted_reason(suspension_reason) if suspension_reason else ""),
            "Do not share under it while it is suspended. " + ask_dpo,
        ),
        "expired": (
            f"No: {ref} expired on {_fmt(version.end_date)}.",
            "A new agreement is needed. " + ask_dpo,
        ),
        "revoked": (
            f"No: {ref} was revoked"
            + (f" on {_fmt(flow.last_ended_at)}." if flow.last_ended_at else ".")
            + " Revocation is final.",
            "A new agreement is needed. " + ask_dpo,
        ),
        "rejected": (f"No: {ref} was rejected and never came into force.", ask_dpo),
        "draft": (
            f"No: {ref} is a draft. It has not been sent to the parties for signature yet.",
            "Do not share under it until every party has signed. Ask your governance officer about it.",
        ),
        "wrong_direction": (  # the flow runs the other way: its provider is the asked recipient
            f"No: {ref} covers sharing {flow.dataset.name} from {flow.provider.name} to {flow.recipient.name}, "
            f"not from {flow.recipient.name} to {flow.provider.name}.",
            "Sharing the other way needs its own flow in an agreement. " + ask_dpo,
        ),
        "dataset_not_covered": (
            f"No: {ref} is between these agencies but does not cover {dataset_name}. "
            f"It covers {_names(sorted({f.dataset.name for f in others}))}.",
            "Share only what an agreement covers, or ask for this dataset to be added. " + ask_dpo,
        ),
    }
    reason, next_step = reasons[outcome]
    return Decision(allowed=False, reason=reason, next_step=next_step, suspension_reason=suspension_reason,
                    **common)


def _quoted_reason(reason: str) -> str:
    return f" The reason given: “{reason}”."


def check(
    *,
    provider: str,
    recipient: str,
    dataset: str,
    purpose: str = "",
    on: dt.date | None = None,
    data_items: list[str] | None = None,
    asker: User | None = None,
) -> Decision:
    """Decide and record the check in the audit log (check.allowed or check.denied). The event's seq is returned."""
    decision = decide(provider=provider, recipient=recipient, dataset=dataset, on=on, data_items=data_items,
                      asker=asker)
    event = record(
        action=AuditAction.CHECK_ALLOWED if decision.allowed else AuditAction.CHECK_DENIED,
        object_type="agreement" if decision.agreement else "dataset",
        object_ref=decision.agreement or dataset,
        agency=_AgencyRef(decision.provider_id, provider),
        # The provider's and the recipient's auditors see it, and (through the actor) the asker's own agency's.
        agencies=(provider, recipient),
        actor=asker,
        detail=decision.as_detail(purpose=purpose, data_items=data_items),
    )
    decision.event = event.seq
    return decision
