"""The agency administrator's pages for their systems' API tokens: list, create (the key shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from agencies.models import Agency
from agencies.views import for_agency
from common.types import AuthenticatedHttpRequest

from . import selectors, services
from .forms import TokenCreateForm

tokens_page = for_agency(selectors.token_can_manage,
                         "Only administrators of {agency.name} can see and manage its API tokens.")


@never_cache  # the page that shows a new key must not be kept by a browser or a proxy
@login_required
@require_http_methods(["GET", "POST"])
@tokens_page
def agency_tokens(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    """The list of an agency's tokens and the form to create one; a created key is shown on this page, once."""
    form = TokenCreateForm(request.POST or None)
    created = key = None
    if request.method == "POST" and form.is_valid():
        try:
            created, key = services.token_create(actor=request.user, user=request.user, agency=agency,
                                                 **form.cleaned_data)
        except PermissionDenied as error:
            return render(request, "agencies/forbidden.html", {"message": str(error)}, status=403)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            form = TokenCreateForm()
    tokens = list(selectors.token_list(agency=agency)[:200])
    status = 400 if form.errors else (201 if created else 200)
    return render(request, "tokens/agency_tokens.html", {
        "agency": agency, "form": form, "tokens": tokens, "created": created, "key": key, "now": timezone.now(),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@tokens_page
def agency_token_revoke(request: AuthenticatedHttpRequest, agency: Agency, token_id: int) -> HttpResponse:
    """GET asks for confirmation; POST revokes."""
    token = selectors.token_get(agency=agency, token_id=token_id)
    if token is None:
        raise Http404("No such token")
    if request.method == "POST":
        services.token_revoke(actor=request.user, token=token)
        messages.success(request, f"The token “{token.name}” is revoked. Calls that send it are now refused.")
        return redirect("agency-tokens", code=agency.code)
    return render(request, "tokens/token_revoke.html", {"agency": agency, "token": token})
