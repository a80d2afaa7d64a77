"""Finding one thing (an agency, a dataset) from what a person typed: its code, its exact name, or a unique part of
its name. Callers word the answer for their page; this decides what matches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.db.models.functions import Lower

M = TypeVar("M", bound=Model)


@dataclass
class NoMatch(Exception):
    """Nothing's code or name matches `text` (`candidates` is empty), or more than one does."""

    text: str
    candidates: list[Any] = field(default_factory=list)
    exact: bool = False  # the candidates all have exactly this name (only a code can tell them apart)

    def __str__(self) -> str:
        return f"{len(self.candidates)} matches for {self.text!r}"


def typed(text: Any, limit: int) -> str:
    """What someone typed into a search box: text, without NUL characters (PostgreSQL refuses them), at most `limit`
    characters, trimmed."""
    return str(text).replace("\x00", "")[:limit].strip()


def by_code_or_name(queryset: QuerySet[M], text: str, *, suggestions: int = 5) -> M:
    """The one row of `queryset` whose `code` is `text`, else whose `name` is `text` (ignoring case), else the one
    whose name contains it. Raises NoMatch with no candidates, the rows sharing that exact name, or up to
    `suggestions` + 1 rows (by name) whose names contain it. At most two small queries."""
    exact: list[Any] = list(queryset.filter(Q(code=text) | Q(name__iexact=text))[:2])  # rows with a `code`
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


NAME_SUGGESTIONS = 8  # how many names a "more than one matches" message lists
_EXACT_ROWS_MAX = 500  # exact matches fetched at once: a name shared by more than this is reported as ambiguous


@dataclass
class Named:
    """What a typed name or code matched: `code` (its code), `exact` (its name, any case) and, only when neither
    matched, `partial` (names containing it; `more` when there were more than the ones fetched)."""

    text: str
    code: Any = None
    exact: list = field(default_factory=list)
    partial: list = field(default_factory=list)
    more: bool = False

    def one(self, *, keep: Callable[[Any], bool] | None = None, label: Callable[[Any], str] = str) -> Any:
        """The one agency or dataset meant, or a ValidationError saying, in names, what to type instead.

        `keep` narrows the names (a dataset's name among its provider's datasets); a code is always taken."""
        kept = [obj for obj in self.exact if keep is None or keep(obj)]
        if self.code is not None and (keep is None or keep(self.code) or not kept):
            return self.code
        if len(kept) == 1:
            return kept[0]
        if len(kept) > 1:
            return _ambiguous(self.text, kept, more=False, label=label)
        kept = [obj for obj in self.partial if keep is None or keep(obj)]
        if len(kept) == 1 and not self.more:
            return kept[0]
        if not kept:
            raise ValidationError(f"Nothing matches “{self.text}”. Check the spelling, or choose from the list")
        return _ambiguous(self.text, kept, more=self.more, label=label)


def _ambiguous(text: str, matches: list, *, more: bool, label: Callable[[Any], str]) -> Any:
    names = ", ".join(label(m) for m in matches[:NAME_SUGGESTIONS])
    if more or len(matches) > NAME_SUGGESTIONS:
        names += " and others"
    raise ValidationError(f"More than one matches “{text}”: {names}. Type more of the name")


def by_codes_or_names(queryset: QuerySet, texts: Iterable[str], *, limit: int = NAME_SUGGESTIONS) -> dict[str, Named]:
    """Agencies or datasets by code or name, for every text at once, in two queries at most whatever the number of
    texts: one for codes and exact names (any case), and one for names containing a text no code or name matched.
    `queryset` narrows both (a form's datasets to its providers'). Pages call `.one()` on each answer: the form
    finds every agency and dataset it names at once, where `by_code_or_name` finds one."""
    wanted = {text.strip() for text in texts if text and text.strip()}
    found = {text: Named(text) for text in wanted}
    if not wanted:
        return found
    exact = queryset.annotate(lower_name=Lower("name")).filter(
        Q(code__in=wanted) | Q(lower_name__in=[text.lower() for text in wanted])
    ).order_by("name", "code")[:_EXACT_ROWS_MAX]
    for obj in exact:
        if obj.code in found:
            found[obj.code].code = obj
        name = obj.name.casefold()
        for text in wanted:
            if text.casefold() == name:
                found[text].exact.append(obj)
    unmatched = [text for text, named in found.items() if named.code is None and not named.exact]
    if unmatched:
        contains = Q()
        for text in unmatched:
            contains |= Q(name__icontains=text)
        cap = (limit + 1) * len(unmatched)
        rows = list(queryset.filter(contains).order_by("name", "code")[:cap])
        for text in unmatched:
            needle = text.casefold()
            found[text].partial = [obj for obj in rows if needle in obj.name.casefold()][: limit + 1]
            found[text].more = len(rows) == cap  # the fetch was cut short: there may be others
    return found
