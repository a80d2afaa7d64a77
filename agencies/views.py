"""Browser pages for the agency and dataset directories and for managing an agency's members.

Each view parses its input, calls selectors and services, and renders a template. Anonymous visitors are sent
to sign in; a signed-in user who may not do something sees a 403 page naming who can.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from . import selectors, services
from .choices import Role
from .forms import AgencySearchForm, MemberAddForm, MemberRemoveForm

PAGE_SIZE = 50


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "agencies/forbidden.html", {"message": message}, status=403)


def _page(request: HttpRequest, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


@login_required
def agency_list(request: HttpRequest) -> HttpResponse:
    form = AgencySearchForm(request.GET or None)
    filters = {}
    if form.is_valid():
        filters = {name: value for name, value in form.cleaned_data.items() if value}
    agencies = selectors.agency_list(user=request.user, filters=filters)
    page = _page(request, agencies)
    services.agency_record_listed(filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "filters": filters, "query": query.urlencode()}
    return render(request, "agencies/agency_list.html", context)


@login_required
def agency_detail(request: HttpRequest, code: str) -> HttpResponse:
    agency = selectors.agency_get(user=request.user, code=code)
    datasets = _page(request, selectors.agency_datasets(user=request.user, agency=agency))
    services.agency_record_viewed(agency=agency)
    context = {
        "agency": agency,
        "datasets": datasets,
        "can_manage_members": selectors.agency_can_manage_members(user=request.user, agency=agency),
    }
    return render(request, "agencies/agency_detail.html", context)


@login_required
def dataset_detail(request: HttpRequest, code: str) -> HttpResponse:
    dataset = selectors.dataset_get(user=request.user, code=code)
    services.dataset_record_viewed(dataset=dataset)
    return render(request, "agencies/dataset_detail.html", {"dataset": dataset})


def _members_agency(request: HttpRequest, code: str):
    agency = selectors.agency_get(user=request.user, code=code)
    if not selectors.agency_can_manage_members(user=request.user, agency=agency):
        return agency, _forbidden(request, f"Only administrators of {agency.name} can see and manage its members.")
    return agency, None


@login_required
def agency_members(request: HttpRequest, code: str) -> HttpResponse:
    """The member list with an add form; adding posts back here and redirects on success."""
    agency, refusal = _members_agency(request, code)
    if refusal:
        return refusal
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, granted = services.membership_add(actor=request.user, agency=agency, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            role = Role(form.cleaned_data["role"])
            if granted:
                messages.success(request, f"{user.get_username()} is now a {role.label.lower()} in {agency.name}.")
            else:
                messages.info(request, f"{user.get_username()} was already a {role.label.lower()} in {agency.name}.")
            return redirect("agency-members", code=agency.code)
    memberships = _page(request, selectors.membership_list(agency=agency), size=100)
    services.membership_record_listed(agency=agency)
    status = 400 if form.errors else 200
    return render(
        request,
        "agencies/members.html",
        {"agency": agency, "form": form, "memberships": memberships},
        status=status,
    )


@login_required
def agency_member_remove(request: HttpRequest, code: str) -> HttpResponse:
    """GET asks for confirmation; POST takes the role away."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    agency, refusal = _members_agency(request, code)
    if refusal:
        return refusal
    form = MemberRemoveForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, "Choose a member to remove from the list.")
        return redirect("agency-members", code=agency.code)
    username, role = form.cleaned_data["username"], Role(form.cleaned_data["role"])
    context = {"agency": agency, "username": username, "role": role, "error": ""}
    if request.method == "POST":
        try:
            removed = services.membership_remove(actor=request.user, agency=agency, username=username, role=role)
        except ValidationError as error:
            context["error"] = " ".join(message for messages_ in error.message_dict.values() for message in messages_)
            return render(request, "agencies/member_remove.html", context, status=400)
        if removed:
            messages.success(request, f"{username} is no longer a {role.label.lower()} in {agency.name}.")
        else:
            messages.info(request, f"{username} was not a {role.label.lower()} in {agency.name}.")
        return redirect(reverse("agency-members", kwargs={"code": agency.code}))
    # Say at once, before asking "are you sure?", when there is nothing to remove or it may not be removed.
    target = selectors.user_by_username(username=username)
    if target is None or not selectors.has_role(target, agency.pk, role):
        messages.info(request, f"{username} is not a {role.label.lower()} in {agency.name}, so there is nothing "
                               "to remove.")
        return redirect(reverse("agency-members", kwargs={"code": agency.code}))
    if role == Role.AGENCY_ADMIN and target.pk == request.user.pk and not request.user.is_superuser:
        messages.error(request, "You cannot remove your own administrator role. Ask another administrator.")
        return redirect(reverse("agency-members", kwargs={"code": agency.code}))
    return render(request, "agencies/member_remove.html", context)
