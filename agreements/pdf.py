"""PDFs of agreements, made with WeasyPrint from an HTML template that carries its own styles.

The HTML holds text people typed, so WeasyPrint is given a URL fetcher that fetches nothing: no image, stylesheet
or file can be pulled in from the network or the server's disk.
"""

from __future__ import annotations

from typing import NoReturn


def render_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML document."""
    import weasyprint  # imported here: it loads Pango and Cairo, which only the download needs
    from weasyprint.urls import URLFetcher

    class FetchNothing(URLFetcher):
        def fetch(self, url: str, headers: dict[str, str] | None = None) -> NoReturn:
            raise ValueError(f"The agreement PDF loads no outside resources ({url[:80]}).")

    return weasyprint.HTML(string=html, url_fetcher=FetchNothing()).write_pdf()
