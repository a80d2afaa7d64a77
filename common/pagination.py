"""Pages of a list, for the pages and the API alike: one page of a query, a paginator that is told how to count
(or counts only so far), and the links GOV.UK's pagination component draws (templates/includes/pagination.html)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


class CountedPaginator(Paginator):
    """A paginator told how to count: `count(cap)` answers how many rows there are, or `cap` + 1 when there are more
    than `cap` (so a page costs the same over a hundred rows or a hundred million). Without `count`, it counts at
    most `cap` + 1 rows of the query itself; without `cap`, every row."""

    object_list: QuerySet[Any]

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, cap: int | None = None,
                 count: Callable[[int | None], int] | None = None, **kwargs: Any):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap
        self._count = count

    @cached_property
    def count(self) -> int:
        limit = None if self.cap is None else self.cap + 1
        if self._count is not None:
            return self._count(limit)
        rows = self.object_list.order_by()
        return (rows[:limit] if limit is not None else rows).count()

    @property
    def capped(self) -> bool:
        """Whether there are more rows than the cap (the count then stops at cap + 1)."""
        return self.cap is not None and self.count > self.cap


def page_of(request: HttpRequest, object_list: Any, per_page: int) -> Page:
    """The page the request asks for (?page=), the last for a number past the end, the first for nonsense."""
    return Paginator(object_list, per_page).get_page(request.GET.get("page"))


def pagination(page: Page, query: Mapping[str, Any]) -> dict:
    """The GOV.UK pagination component's items: first, last, and the pages either side of this one (no last for a
    paginator that counted only so far, `capped`). `query` is the rest of the query string each link keeps (empty
    values are left out)."""
    def href(number: int) -> str:
        return "?" + urlencode({**{k: v for k, v in query.items() if v and k != "page"}, "page": number})

    around = {1, page.number - 1, page.number, page.number + 1}
    if getattr(page.paginator, "capped", False):  # counted only so far: links as far as the next page, no last
        last = page.number + 1 if page.has_next() else page.number
    else:
        last = page.paginator.num_pages
        around.add(last)
    wanted = sorted(around & set(range(1, last + 1)))
    items: list[dict[str, Any]] = []
    previous = 0
    for number in wanted:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page.number})
        previous = number
    return {
        "items": items if last > 1 else [],
        "previous": href(page.number - 1) if page.has_previous() else None,
        "next": href(page.number + 1) if page.has_next() else None,
    }
