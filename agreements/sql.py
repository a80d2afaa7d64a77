"""The few SQL shapes the ORM does not write by itself, each measured (README "Performance") and each a public
Django expression, so the ORM still compiles, quotes and parameterises the query around it.

- `BoundedCount`: how many rows a queryset (or a UNION ALL of parts) has, counting at most `cap` + 1 of them, as a
  scalar subquery that can ride along with the page's own query (one query for the page and its count, which stays
  cheap however many agreements a member may see).
- `Probe`: EXISTS as a look-up for each row, where PostgreSQL would otherwise hash a whole set for a page of rows.
- `legal_bases_json`: a flow's legal bases as one JSON array, so a page's flows and their bases are one query.
- `RowReader` (and `python_values`): the rows of a hand-written query (the check's, agreements.decisions, planned
  once per PostgreSQL connection by common.prepared; the register's page, compiled once per shape) read as the ORM
  reads them.

tests/agreements/test_sql.py runs both on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, F, Field, IntegerField, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.db.models.lookups import IsNull
from django.utils import timezone

from agencies.models import Agency

from .models import Flow, LegalBasis

BASIS_FIELDS = ("id", "code", "title", "citation", "kind", "description", "guidance", "active")


class BoundedCount(Subquery):
    """`SELECT COUNT(*) FROM (<queryset> LIMIT cap + 1)`: the number of rows, or cap + 1 when there are more (every
    row, with no cap). `queryset` may be a UNION ALL of parts: PostgreSQL reads them in turn, and stops reading as
    soon as the cap is passed, so the later parts cost nothing then."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) bounded_count)"

    def __init__(self, queryset: QuerySet, cap: int | None):
        ids = queryset.order_by().values("pk")
        super().__init__(ids if cap is None else ids[:cap + 1], output_field=IntegerField())


class Probe(IsNull):
    """Whether `queryset` has a row, as `(SELECT pk ... LIMIT 1) IS NOT NULL`: what EXISTS means, but run row by row,
    as a look-up of `queryset`'s index for each outer row. PostgreSQL turns an EXISTS (or an IN) into a hash of every
    row of the subquery whenever the outer rows are many, which they are before a page's LIMIT stops them, and not
    at all for a scalar subquery. For the page's few hundred rows at most: counting uses the sets."""

    def __init__(self, queryset: QuerySet):
        super().__init__(Subquery(queryset.order_by().values("pk")[:1]), False)


class JSONList(Aggregate):
    """The values of a group as one JSON array: json_group_array on SQLite, jsonb_agg on PostgreSQL (jsonb, so
    that Django's JSONField reads it as it reads any jsonb column)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


def legal_bases_json() -> Subquery:
    """For a Flow queryset's annotation: the flow's legal bases as a JSON array of objects (BASIS_FIELDS), or null
    when it has none. One correlated subquery on the flow-basis index."""
    through = Flow.legal_bases.through
    rows = (
        through.objects.filter(flow_id=OuterRef("pk"))
        .values("flow_id")
        .annotate(bases=JSONList(JSONObject(**{name: F(f"legalbasis__{name}") for name in BASIS_FIELDS})))
        .values("bases")  # type: ignore[misc]  # an annotation the type checker's plugin does not follow
    )
    return Subquery(rows, output_field=JSONField())


def agency_json() -> Subquery:
    """For a Party queryset's annotation: the party's agency as one JSON object of every column, read by the agency's
    key for each party. Joined instead, PostgreSQL hashes every agency for a page's parties (it plans the join for
    more rows than a page has)."""
    columns = {field.attname: F(field.attname) for field in Agency._meta.concrete_fields}
    agency = Agency.objects.filter(pk=OuterRef("agency_id")).order_by().values(row=JSONObject(**columns))
    return Subquery(agency[:1], output_field=JSONField())


def agency_name() -> Subquery:
    """For ordering a Party queryset by its agency's name without joining the agencies (see `agency_json`)."""
    return Subquery(Agency.objects.filter(pk=OuterRef("agency_id")).order_by().values("name")[:1])


def agency_from_json(value: Any) -> Agency:
    """The Agency of one `agency_json` value, as the ORM would load it (each value through its field)."""
    fields = Agency._meta.concrete_fields
    names = [field.attname for field in fields]
    return Agency.from_db(router.db_for_read(Agency), names, python_values(fields, [value[name] for name in names]))


def legal_bases_from_json(value: Any, known: dict[int, LegalBasis] | None = None) -> list[LegalBasis]:
    """The LegalBasis objects of one `legal_bases_json` value, in the catalogue's order (LegalBasis.Meta). `known`:
    the bases already made for other flows, by id, which this reuses and adds to (a page cites a few dozen bases
    hundreds of times)."""
    known = {} if known is None else known
    bases = [known.get(row["id"]) or known.setdefault(row["id"], LegalBasis(**row)) for row in value or []]
    return sorted(bases, key=lambda basis: (basis.kind, basis.code))


def python_values(fields: Sequence[Field], row: Iterable[Any]) -> list[Any]:
    """The first len(fields) values of a row (or of JSON) read without the ORM, as the model fields hold them,
    through each field's public API: `to_python` (a date or a datetime sent as text by SQLite or held in JSON, a
    boolean sent as 0 or 1), JSON text decoded, and a naive datetime read as UTC (how Django stores it where the
    database has no time zone)."""
    values = []
    for field, value in zip(fields, row, strict=False):
        if value is not None:
            if isinstance(field, JSONField):
                value = json.loads(value, cls=field.decoder) if isinstance(value, str | bytes) else value
            else:
                value = field.to_python(value)
                if isinstance(value, dt.datetime) and settings.USE_TZ and timezone.is_naive(value):
                    value = timezone.make_aware(value, dt.UTC)
        values.append(value)
    return values


class RowReader:
    """Reads the rows of one hand-written query whose first columns are these model `fields`, as the ORM would:
    on PostgreSQL the driver's values are already Python's and the ORM converts a column only through its field's
    `from_db_value` (JSON text, here), so that is all this does there; elsewhere `python_values`. Columns after the
    fields are left as they came."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = list(fields)
        self.converters = [(i, convert) for i, field in enumerate(self.fields)
                           if (convert := getattr(field, "from_db_value", None)) is not None]

    def values(self, connection: BaseDatabaseWrapper, row: Sequence[Any]) -> list[Any]:
        if connection.vendor != "postgresql":
            return [*python_values(self.fields, row), *row[len(self.fields):]]
        values = list(row)
        for i, convert in self.converters:
            if values[i] is not None:
                values[i] = convert(values[i], None, connection)
        return values


class Shape:
    """A query compiled once for its shape and run again with each request's own values (the user, the filters).

    Building and compiling the register's page query is most of a page's CPU (19 ms of 69 for a hub member's
    agency filter on sr_bench) and gives the same SQL for every request of one shape: only its parameters differ.
    A Shape compiles a queryset built from stand-ins (`slots`: a name for each value that varies, given as a value
    no request can have) with the public `Query.sql_with_params()`, and remembers where each stand-in lands among
    the parameters; `params` puts a request's own values there. Every stand-in must land as a parameter of its own,
    unchanged (not transformed, as `icontains` would, nor written into the SQL): otherwise it refuses (ValueError).
    Which filters may be slots is the caller's to decide (`AgreementSearch.SLOTTED`); a shape compiles the same
    whatever the data, and tests compile every combination of them."""

    def __init__(self, queryset: QuerySet, slots: dict[str, Any]):
        text, params = queryset.query.sql_with_params()
        names = {value: name for name, value in slots.items()}
        if len(names) != len(slots) or any(type(value) not in (int, str) for value in slots.values()):
            raise ValueError("Give each slot a distinct int or str.")
        self.sql, self._params = text, tuple(params)
        self._slots = tuple((i, names[value]) for i, value in enumerate(params)
                            if type(value) in (int, str) and value in names)
        landed = {name for _, name in self._slots}
        if landed != set(slots) or any(str(value) in text for value in slots.values()):
            raise ValueError(f"Not every slot is a parameter of its own: {sorted(set(slots) - landed)}")

    def params(self, values: dict[str, Any]) -> list[Any]:
        """The parameters for `values` (by slot name)."""
        params = list(self._params)
        for i, name in self._slots:
            params[i] = values[name]
        return params
