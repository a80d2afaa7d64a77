"""Pages that span the apps: the role-aware dashboard, the public register, the sharing map and sign-out."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_safe

from agencies.choices import AgencyKind
from agencies.models import Agency
from common.lookups import NoMatch, by_code_or_name, typed
from common.pagination import page_of, pagination

from . import map_layout, oidc, selectors
from .context_processors import optional_url

PUBLIC_PAGE_SIZE = 20
SEARCH_MAX = 200


@login_required
def dashboard(request):
    board = selectors.dashboard_for(user=request.user, today=timezone.localdate())
    _link_agreements(board)
    links = {
        "check": optional_url("agreements:check"),
        "audit": optional_url("audit-events"),
        "register": optional_url("agreements:list"),
        "new_agreement": optional_url("agreements:create"),
    }
    admin_agencies = [
        {**agency, "members_url": optional_url("agency-members", agency["code"]),
         "tokens_url": optional_url("agency-tokens", agency["code"])} for agency in board.admin_agencies
    ]
    return render(request, "dashboard.html", {
        "board": board, "links": links, "admin_agencies": admin_agencies, "today": timezone.localdate(),
    })


def _link_agreements(board: selectors.Dashboard) -> None:
    """Gives each listed agreement its page's URL (None while the agreement pages are not built)."""
    for party in board.awaiting_signature:
        party.page_url = optional_url("agreements:detail", party.version.agreement.reference)
    for item in board.waiting:
        item.page_url = optional_url("agreements:detail", item.agreement.reference)
        item.action_url = optional_url("agreements:action", item.agreement.reference, item.action.value)
    for version in board.my_drafts:
        version.page_url = optional_url("agreements:detail", version.agreement.reference)
    for agreement in [*board.reviews_due, *board.expiring]:
        agreement.page_url = optional_url("agreements:detail", agreement.reference)


def _search_text(text: str) -> str:
    return typed(text, SEARCH_MAX)


@require_safe
def public_register(request):
    """Active agreements, for anyone: who shares what, why and under which law. No personal data."""
    text = _search_text(request.GET.get("q", ""))
    page = page_of(request, selectors.public_agreements(text=text), PUBLIC_PAGE_SIZE)
    entries = selectors.public_entries(list(page.object_list))
    return render(request, "public/register.html", {
        "q": text, "page": page, "entries": entries, "pagination": pagination(page, {"q": text}),
    })


def _find_agency(text: str) -> tuple[Agency | None, str]:
    """An agency by code, exact name or a unique part of its name; or a message saying what went wrong."""
    text = _search_text(text)
    try:
        return by_code_or_name(Agency.objects.all(), text), ""
    except NoMatch as none:
        if not none.candidates:
            return None, f"No agency matches “{text}”. Check the spelling"
        names = ", ".join(m.name for m in none.candidates[:5])
        return None, f"More than one agency matches “{text}”: {names}. Type more of the name"


@require_safe
def sharing_map(request):
    """Which agencies share with which under active agreements, drawn on the server, with a table alternative.

    Public, like the register: Caldicott principle 8 asks that people be told how their information is used,
    and it shows only agencies and counts of active flows, never people.
    """
    asked = _search_text(request.GET.get("agency", ""))
    focus, error = (None, "")
    if asked:
        focus, error = _find_agency(asked)
    data = selectors.sharing_map(focus=focus, limit=selectors.MAP_NODES)
    nodes, edges = map_layout.layout(data.nodes, data.edges)
    kinds = {node.kind for node in nodes}
    context = {
        "asked": asked, "error": error, "focus": focus, "data": data, "nodes": nodes, "edges": edges,
        "size": map_layout.SIZE, "limit": selectors.MAP_NODES,
        "legend": [(value, label) for value, label in AgencyKind.choices if value in kinds],
        "ring_nodes": [n for n in nodes if not n.focus],
        "table_nodes": sorted(nodes, key=lambda n: (-(n.provides + n.receives), n.name)),
    }
    return render(request, "public/map.html", context, status=400 if error else 200)


def sign_out(request):
    """GET asks to confirm (a link cannot sign anyone out); POST signs out, as Django's LogoutView does."""
    if request.method == "POST":
        return auth_views.LogoutView.as_view()(request)
    return render(request, "registration/sign_out.html")


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with messages in plain English."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Enter a correct username and password. Both are case-sensitive",
        "inactive": "This account has been switched off. Ask your agency administrator",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username"
        self.fields["password"].error_messages["required"] = "Enter your password"


def sign_in(request):
    """Django's sign-in page, with a button for single sign-on when it is configured, and the reason when a single
    sign-on has just failed (the provider sends people back here)."""
    sso_failure = ""
    if request.GET.get("sso") == "failed":
        sso_failure = oidc.FAILURES.get(request.session.pop(oidc.SESSION_FAILURE_KEY, ""), "")
    context = {"sso_enabled": oidc.enabled(), "sso_provider_name": settings.OIDC_PROVIDER_NAME,
               "sso_failure": sso_failure}
    response = auth_views.LoginView.as_view(authentication_form=SignInForm, extra_context=context)(request)
    if sso_failure and response.status_code == 200:
        response.status_code = 401
    return response


def not_a_password_sign_in(request, credentials=None) -> bool:
    """For django-axes (AXES_WHITELIST_CALLABLE): single sign-on is no password guess. The provider runs its own
    lockout, and counting its failures against an address would lock a whole office out of single sign-on."""
    return credentials is not None and "password" not in credentials


def attempted_username(request, credentials=None) -> str:
    """The username a sign-in attempt named, for django-axes: no NUL, at most 150 characters (its column holds 255;
    Django's sign-in form does not limit the length, and PostgreSQL refuses a longer value with an error)."""
    value = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(value).replace("\x00", "")[:150]


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in: how long to wait, in plain English, with status 429."""
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    username = attempted_username(request, credentials)
    response = render(request, "registration/locked_out.html", {
        "username": username, "failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes,
    }, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def not_found(request, exception=None):
    """A 404 for a URL that matches nothing: JSON under /api/ (as the API's own 404s are), the GOV.UK page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
