"""Email from templates: a plain-text body with an HTML alternative, through Django's email backend.

Every app sends mail this way. Templates live in templates/email/<name>.txt and <name>.html.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string


def message(*, template: str, subject: str, to: Iterable[str], context: Mapping[str, Any]) -> EmailMultiAlternatives:
    """One message with both bodies rendered from `template` (no extension)."""
    values = {"site_url": settings.SITE_URL, **context}
    mail = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a header must not carry a line break
        body=render_to_string(f"email/{template}.txt", values),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
    )
    mail.attach_alternative(render_to_string(f"email/{template}.html", values), "text/html")
    return mail


def send_all(messages: list[EmailMultiAlternatives]) -> int:
    """Send over one connection; raises on the first failure (callers decide whether to retry)."""
    if not messages:
        return 0
    with get_connection(fail_silently=False) as connection:
        return connection.send_messages(messages) or 0
