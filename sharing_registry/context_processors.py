"""Navigation for base.html: which sections the signed-in user may reach.

The user's roles cost one query (agencies.selectors.user_roles caches them on the user), and the result is
cached on the request, so a page pays for navigation at most once however often it is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from agencies.choices import Role
from agencies.selectors import user_roles

SERVICE_NAME = "Sharing Registry"


def optional_url(name: str, *args) -> str | None:
    """The URL for `name`, or None while the page that answers it has not been built."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    active: bool = False


def _is_active(path: str, href: str) -> bool:
    if href == "/":
        return path == "/"
    return path == href or path.startswith(href)


def navigation_items(request) -> list[NavItem]:
    """The service navigation for this request's user, computed once per request."""
    cached = getattr(request, "_navigation_items", None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    entries: list[tuple[str, str | None]] = []
    if user is not None and user.is_authenticated:
        roles = {role for _agency, role in user_roles(user)}
        is_member = bool(roles)
        entries.append(("Dashboard", optional_url("dashboard")))
        if is_member or user.is_superuser:
            entries.append(("Can I share?", optional_url("agreements:check")))
        entries.append(("Register", optional_url("agreements:list")))
        entries.append(("Agencies", optional_url("agency-list")))
        if Role.AUDITOR in roles or user.is_superuser:
            entries.append(("Audit", optional_url("audit-events")))
    entries.append(("Public register", optional_url("public-register")))
    entries.append(("Sharing map", optional_url("sharing-map")))
    path = getattr(request, "path", "")
    hrefs = [href for _label, href in entries if href]
    # The longest matching link is the current section, so /public/map/ does not also light up /public/.
    current = max((h for h in hrefs if _is_active(path, h)), key=len, default=None)
    items = [NavItem(label, href, href == current) for label, href in entries if href]
    if request is not None:
        request._navigation_items = items
    return items


def navigation(request):
    return {"service_name": SERVICE_NAME, "nav_user": getattr(request, "user", None),
            "nav_items": navigation_items(request)}
