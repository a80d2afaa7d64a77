"""Page links for lists of agreements (the register, the public register), as GOV.UK's pagination component
draws them."""

from urllib.parse import urlencode

from django.core.paginator import Page


def pagination(page: Page, query: dict[str, str]) -> dict:
    """The GOV.UK pagination component's items: first, last, and the pages either side of this one."""
    def href(number: int) -> str:
        return "?" + urlencode({**{k: v for k, v in query.items() if v}, "page": number})

    last = page.paginator.num_pages
    wanted = sorted({1, last, page.number - 1, page.number, page.number + 1} & set(range(1, last + 1)))
    items, previous = [], 0
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
