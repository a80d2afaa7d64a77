"""The few SQL shapes the ORM does not write by itself, each measured (README "Performance") and each a public
Django expression, so the ORM still compiles, quotes and parameterises the query around it.

- `BoundedCount`: how many rows a queryset has, counting at most `cap` + 1 of them, as a scalar subquery that can
  ride along with the page's own query (one query for the page and its count, which stays cheap however many
  agreements a member may see).
- `legal_bases_json`: a flow's legal bases as one JSON array, so a page's flows and their bases are one query.

tests/agreements/test_sql.py runs both on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, F, IntegerField, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject

from .models import Flow, LegalBasis

BASIS_FIELDS = ("id", "code", "title", "citation", "kind", "description", "guidance", "active")


class BoundedCount(Subquery):
    """`SELECT COUNT(*) FROM (<queryset> LIMIT cap + 1)`: the number of rows, or cap + 1 when there are more."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) bounded_count)"

    def __init__(self, queryset: QuerySet, cap: int):
        super().__init__(queryset.order_by().values("pk")[:cap + 1], output_field=IntegerField())


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
        .values("bases")
    )
    return Subquery(rows, output_field=JSONField())


def legal_bases_from_json(value: Any) -> list[LegalBasis]:
    """The LegalBasis objects of one `legal_bases_json` value, in the catalogue's order (LegalBasis.Meta)."""
    bases = [LegalBasis(**row) for row in value or []]
    return sorted(bases, key=lambda basis: (basis.kind, basis.code))
