"""Finding one thing (an agency, a dataset) from what a person typed: its code, its exact name, or a unique part of
its name. Callers word the answer for their page; this decides what matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Q, QuerySet


@dataclass
class NoMatch(Exception):
    """Nothing's code or name matches `text` (`candidates` is empty), or more than one does."""

    text: str
    candidates: list[Any] = field(default_factory=list)
    exact: bool = False  # the candidates all have exactly this name (only a code can tell them apart)

    def __str__(self) -> str:
        return f"{len(self.candidates)} matches for {self.text!r}"


def by_code_or_name(queryset: QuerySet, text: str, *, suggestions: int = 5) -> Model:
    """The one row of `queryset` whose `code` is `text`, else whose `name` is `text` (ignoring case), else the one
    whose name contains it. Raises NoMatch with no candidates, the rows sharing that exact name, or up to
    `suggestions` + 1 rows (by name) whose names contain it. At most two small queries."""
    exact = list(queryset.filter(Q(code=text) | Q(name__iexact=text))[:2])
    for row in exact:
        if row.code == text:
            return row
    if len(exact) == 1:
        return exact[0]
    if exact:
        raise NoMatch(text, exact, exact=True)
    partial = list(queryset.filter(name__icontains=text).order_by("name")[: suggestions + 1])
    if len(partial) == 1:
        return partial[0]
    raise NoMatch(text, partial)
