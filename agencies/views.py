"""Browser pages for the agency and dataset directories and for managing an agency's members.

Each view parses its input, calls selectors and services, and renders a template. Anonymous visitors are sent
to sign in; a signed-in user who may not do something sees a 403 page naming who can.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import password_validation
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import display_name
from common.pagination import page_of, pagination
from common.types import AuthenticatedHttpRequest

from . import selectors, services
from .choices import Role
from .forms import (
    AgencyForm,
    AgencySearchForm,
    DatasetForm,
    InvitationForm,
    MemberAddForm,
    MemberLeaveForm,
    MemberRemoveForm,
    MemberRoleChangeForm,
)
from .models import Agency

PAGE_SIZE = 50


def _a(role: Role) -> str:
    """"a frontline worker", "an auditor"."""
    label = role.label.lower()
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "agencies/forbidden.html", {"message": message}, status=403)


@login_required
def agency_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AgencySearchForm(request.GET or None)
    filters = {}
    if form.is_valid():
        filters = {name: value for name, value in form.cleaned_data.items() if value}
    agencies = selectors.agency_list(user=request.user, filters=filters)
    page = page_of(request, agencies, PAGE_SIZE)
    services.agency_record_listed(filters=filters)
    context = {"form": form, "page": page, "filters": filters, "pagination": pagination(page, request.GET.dict()),
               "can_create": selectors.agency_can_create(user=request.user)}
    return render(request, "agencies/agency_list.html", context)


@login_required
def agency_detail(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    agency = selectors.agency_get(code=code)
    datasets = page_of(request, selectors.agency_datasets(agency=agency), PAGE_SIZE)
    services.agency_record_viewed(agency=agency)
    context = {
        "agency": agency,
        "datasets": datasets,
        "pagination": pagination(datasets, {}),
        "can_manage_members": selectors.agency_can_manage_members(user=request.user, agency=agency),
        "can_change": selectors.agency_can_change(user=request.user, agency=agency),
        "can_add_dataset": selectors.dataset_can_create(user=request.user, owner=agency),
    }
    return render(request, "agencies/agency_detail.html", context)


@login_required
def dataset_detail(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dataset = selectors.dataset_get(code=code)
    services.dataset_record_viewed(dataset=dataset)
    can_change = selectors.dataset_can_change(user=request.user, dataset=dataset)
    return render(request, "agencies/dataset_detail.html", {"dataset": dataset, "can_change": can_change})


def _add_errors(form: forms.Form, error: ValidationError, default_field: str | None = None) -> None:
    """A service's field errors onto the form (unknown fields onto `default_field`, or the form as a whole)."""
    for field, field_errors in error.message_dict.items():
        for message in field_errors:
            form.add_error(field if field in form.fields else default_field, message)


AgencyView = Callable[..., HttpResponse]


def for_agency(may: Callable[..., bool], refusal: str) -> Callable[[AgencyView], AgencyView]:
    """For the pages of the agency their URL names by `code`: the view is called with that Agency instead of the
    code; someone `may(user=, agency=)` refuses gets the 403 page saying `refusal` (formatted with `agency`)."""

    def decorate(view: AgencyView) -> AgencyView:
        @functools.wraps(view)
        def page(request: AuthenticatedHttpRequest, code: str, **kwargs: Any) -> HttpResponse:
            agency = selectors.agency_get(code=code)
            if not may(user=request.user, agency=agency):
                return _forbidden(request, refusal.format(agency=agency))
            return view(request, agency, **kwargs)

        return page

    return decorate


members_page = for_agency(selectors.agency_can_manage_members,
                          "Only administrators of {agency.name} can see and manage its members.")


def _to_members(agency: Agency) -> HttpResponse:
    return redirect(reverse("agency-members", kwargs={"code": agency.code}))


def _form_page(request: HttpRequest, form: forms.Form, template: str, context: dict[str, Any], *,
               save: Callable[[dict[str, Any]], Any], done: Callable[[Any], tuple[str, HttpResponse]],
               error_field: str) -> HttpResponse:
    """A page with one form: on a valid POST, `save(cleaned_data)` (a service), then `done(result)` gives the
    success message and where to go; a service's refusal is a 403 page, its field errors go on the form
    (others onto `error_field`) and the page again with a 400."""
    if request.method == "POST" and form.is_valid():
        try:
            result = save(form.cleaned_data)
        except PermissionDenied as refused:
            return _forbidden(request, str(refused))
        except ValidationError as error:
            _add_errors(form, error, error_field)
        else:
            message, then = done(result)
            messages.success(request, message)
            return then
    return render(request, template, {**context, "form": form}, status=400 if form.errors else 200)


@login_required
@members_page
def agency_members(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    """The members and pending invitations, with a form to add someone who already has an account."""
    form = MemberAddForm(request.POST or None)
    question = None
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, granted = services.membership_add(
                actor=request.user, agency=agency, username=data["username"], email=data["email"],
                role=data["role"], confirm=data["confirm"])
        except PermissionDenied as refused:
            return _forbidden(request, str(refused))
        except services.ConfirmationNeeded as asked:
            question = asked
        except ValidationError as error:
            _add_errors(form, error, "username")
        else:
            role, name = Role(data["role"]), display_name(user)
            if granted:
                messages.success(request, f"{name} is now {_a(role)} in {agency.name}.")
            else:
                messages.info(request, f"{name} was already {_a(role)} in {agency.name}.")
            return _to_members(agency)
    if question is not None:
        target = selectors.user_by_username(username=form.cleaned_data["username"])
        return render(request, "agencies/member_confirm.html", {
            "agency": agency, "form": form, "person": target, "elsewhere": question.elsewhere,
            "switched_off": question.switched_off, "role": Role(form.cleaned_data["role"]),
        }, status=409)
    if form.errors:
        status = 400
    memberships = page_of(request, selectors.membership_list(agency=agency), 100)
    invitations = selectors.invitation_list(agency=agency)[:200]
    services.membership_record_listed(agency=agency)
    return render(request, "agencies/members.html", {
        "agency": agency, "form": form, "memberships": memberships, "invitations": invitations,
        "pagination": pagination(memberships, {}),
        "now": timezone.now(),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@members_page
def agency_member_remove(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    """GET asks for confirmation; POST takes the role away."""
    form = MemberRemoveForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, "Choose a member to remove from the list.")
        return _to_members(agency)
    username, role = form.cleaned_data["username"], Role(form.cleaned_data["role"])
    target = selectors.user_by_username(username=username)
    if target is None or not selectors.has_role(target, agency.pk, role):
        messages.info(request, f"{username} is not {_a(role)} in {agency.name}, so there is nothing "
                               "to remove.")
        return _to_members(agency)
    context = {"agency": agency, "username": username, "person": target, "role": role, "error": "",
               "last_role": not target.is_superuser and len(selectors.user_agency_ids(target)) <= 1
               and sum(1 for a, _ in selectors.user_roles(target) if a == agency.pk) == 1}
    try:
        if request.method == "POST":
            services.membership_remove(actor=request.user, agency=agency, username=username, role=role)
            messages.success(request, f"{display_name(target)} is no longer {_a(role)} in "
                                      f"{agency.name}.")
            return _to_members(agency)
        services.check_may_change_roles(actor=request.user, agency=agency, user=target)
    except PermissionDenied as refused:
        return _forbidden(request, str(refused))
    except ValidationError as error:
        context["error"] = " ".join(error.messages)
        return render(request, "agencies/member_remove.html", context, status=400)
    return render(request, "agencies/member_remove.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@members_page
def agency_member_leave(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    """A leaver: GET asks for confirmation; POST takes every role in the agency away (and, if that was their last
    agency, switches their account off)."""
    form = MemberLeaveForm(request.POST if request.method == "POST" else request.GET)
    target = selectors.user_by_username(username=form.data.get("username", "")) if form.is_valid() else None
    held = sorted(Role(r) for a, r in selectors.user_roles(target) if a == agency.pk) if target else []
    if target is None or not held:
        messages.info(request, "That person is not a member of this agency, so there is nothing to remove.")
        return _to_members(agency)
    try:
        services.check_may_change_roles(actor=request.user, agency=agency, user=target)
        if request.method == "POST":
            services.membership_leave(actor=request.user, agency=agency, username=target.get_username())
            target.refresh_from_db(fields=["is_active"])
            note = "" if target.is_active else " They had no other role, so their account is now switched off."
            messages.success(request, f"{display_name(target)} has been removed from {agency.name}.{note}")
            return _to_members(agency)
    except PermissionDenied as refused:
        return _forbidden(request, str(refused))
    elsewhere = bool(selectors.user_other_agencies(user=target, agency=agency))
    return render(request, "agencies/member_leave.html", {
        "agency": agency, "person": target, "roles": held, "elsewhere": elsewhere,
    })


@login_required
@require_http_methods(["GET", "POST"])
@members_page
def agency_member_change_role(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    """Change a member's role in one step."""
    if request.method == "POST":
        form = MemberRoleChangeForm(request.POST)
    else:
        form = MemberRoleChangeForm(initial={"username": request.GET.get("username", ""),
                                             "from_role": request.GET.get("role", "")})
    asked = request.POST if request.method == "POST" else request.GET
    username, from_value = asked.get("username", "")[:150], asked.get("from_role") or asked.get("role", "")
    target = selectors.user_by_username(username=username)
    if target is None or from_value not in Role.values or not selectors.has_role(target, agency.pk, Role(from_value)):
        messages.info(request, "Choose a member from the list to change their role.")
        return _to_members(agency)
    from_role = Role(from_value)
    try:
        services.check_may_change_roles(actor=request.user, agency=agency, user=target)
        if request.method == "POST" and form.is_valid():
            to_role = Role(form.cleaned_data["to_role"])
            services.membership_change_role(actor=request.user, agency=agency, username=username,
                                            from_role=from_role, to_role=to_role)
            messages.success(request, f"{display_name(target)} is now {_a(to_role)} in "
                                      f"{agency.name}.")
            return _to_members(agency)
    except PermissionDenied as refused:
        return _forbidden(request, str(refused))
    except ValidationError as error:
        _add_errors(form, error, "to_role")
    return render(request, "agencies/member_change_role.html", {
        "agency": agency, "person": target, "from_role": from_role, "form": form,
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@members_page
def invitation_create(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    return _form_page(
        request, InvitationForm(request.POST or None), "agencies/invitation_form.html", {"agency": agency},
        save=lambda data: services.invitation_create(actor=request.user, agency=agency, email=data["email"],
                                                     full_name=data["name"], job_title=data["job_title"],
                                                     role=data["role"]),
        done=lambda invitation: (f"Invitation sent to {invitation.full_name} at {invitation.email}. The link in it "
                                 "works once, for 7 days.", _to_members(agency)),
        error_field="email")


def _invitation_change(change: Callable[..., Any], done: str) -> AgencyView:
    """The POST that resends or cancels an invitation (`change`, a service), then goes back to the members page with
    `done`, worded from the invitation, or the service's reason it could not."""

    @login_required
    @require_POST
    @members_page
    def view(request: AuthenticatedHttpRequest, agency: Agency, pk: str) -> HttpResponse:
        invitation = selectors.invitation_get(agency=agency, pk=pk)
        try:
            change(actor=request.user, invitation=invitation)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done.format(invitation=invitation))
        return _to_members(agency)

    return view


invitation_resend = _invitation_change(
    services.invitation_resend, "Invitation sent again to {invitation.email}, with a new link valid for 7 days.")
invitation_cancel = _invitation_change(
    services.invitation_cancel, "The invitation to {invitation.email} is cancelled. Its link no longer works.")


class AcceptForm(forms.Form):
    password1 = forms.CharField(label="Create a password", strip=False, widget=forms.PasswordInput,
                                error_messages={"required": "Create a password."})
    password2 = forms.CharField(label="Type the password again", strip=False, widget=forms.PasswordInput,
                                error_messages={"required": "Type the password again."})

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("password1") and cleaned.get("password2") and cleaned["password1"] != cleaned["password2"]:
            self.add_error("password2", "The two passwords do not match.")
        return cleaned


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: set a password and accept (or, signed in with the invited address, just accept)."""
    invitation = selectors.invitation_by_token(token=token)
    if invitation is None:
        return render(request, "agencies/invitation_invalid.html", status=404)
    signed_in_user = request.user if request.user.is_authenticated else None
    signed_in = signed_in_user is not None
    existing = None if signed_in else selectors.user_by_email(email=invitation.email)
    form = AcceptForm(request.POST or None) if not signed_in else None
    error = ""
    if request.method == "POST" and existing is None:
        if form is None or form.is_valid():
            password = None if form is None else form.cleaned_data["password1"]
            try:
                user, _ = services.invitation_accept(token=token, password=password, user=signed_in_user)
            except PermissionDenied as refused:
                error = str(refused)
            except ValidationError as problem:
                if form is not None:
                    for field, messages_ in problem.message_dict.items():
                        for message in messages_:
                            form.add_error("password1" if field in ("password", "__all__") else None, message)
                else:
                    error = " ".join(problem.messages)
            else:
                role = _a(Role(invitation.role))
                if signed_in:
                    messages.success(request, f"You are now {_a(Role(invitation.role))} in {invitation.agency.name}.")
                    return redirect("dashboard")
                messages.success(request, f"Your account is ready and you are {role} in {invitation.agency.name}. "
                                          f"Sign in with your username, {user.get_username()}, and your new password.")
                return redirect("login")
    context = {"invitation": invitation, "form": form, "existing": existing, "error": error,
               "username": invitation.email.lower(), "role": Role(invitation.role),
               "password_help": password_validation.password_validators_help_texts()}
    status = 400 if (error or (form is not None and form.errors)) else 200
    return render(request, "agencies/invitation_accept.html", context, status=status)


# Agencies and datasets in the browser.


@login_required
@require_http_methods(["GET", "POST"])
def agency_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not selectors.agency_can_create(user=request.user):
        return _forbidden(request, "Only registry administrators can add agencies.")
    return _form_page(
        request, AgencyForm(request.POST or None), "agencies/agency_form.html", {"agency": None},
        save=lambda data: services.agency_create(actor=request.user, **data),
        done=lambda agency: (f"{agency.name} has been added.", redirect("agency-detail", code=agency.code)),
        error_field="name")


@login_required
@require_http_methods(["GET", "POST"])
@for_agency(selectors.agency_can_change, "Only administrators of {agency.name} can change its details.")
def agency_edit(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    initial = {name: getattr(agency, name) for name in AgencyForm.base_fields if name != "code"}
    return _form_page(
        request, AgencyForm(request.POST or None, initial=initial, editing=True), "agencies/agency_form.html",
        {"agency": agency},
        save=lambda data: services.agency_update(actor=request.user, agency=agency, **data),
        done=lambda _: (f"The details of {agency.name} have been saved.", redirect("agency-detail", code=agency.code)),
        error_field="name")


@login_required
@require_http_methods(["GET", "POST"])
@for_agency(lambda user, agency: selectors.dataset_can_create(user=user, owner=agency),
            "Only governance officers and administrators of {agency.name} can add its datasets.")
def dataset_create(request: AuthenticatedHttpRequest, owner: Agency) -> HttpResponse:
    return _form_page(
        request, DatasetForm(request.POST or None), "agencies/dataset_form.html", {"owner": owner, "dataset": None},
        save=lambda data: services.dataset_create(actor=request.user, owner=owner, **data),
        done=lambda dataset: (f"{dataset.name} has been added to the datasets of {owner.name}.",
                              redirect("dataset-detail", code=dataset.code)),
        error_field="name")


@login_required
@require_http_methods(["GET", "POST"])
def dataset_edit(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dataset = selectors.dataset_get(code=code)
    if not selectors.dataset_can_change(user=request.user, dataset=dataset):
        return _forbidden(request, f"Only governance officers and administrators of {dataset.owner.name} can change "
                                   "this dataset.")
    initial = {name: getattr(dataset, name) for name in DatasetForm.base_fields if name != "code"}
    initial["data_items"] = "\n".join(dataset.data_items)

    def save(data: dict[str, Any]) -> None:
        with transaction.atomic():
            services.dataset_update(actor=request.user, dataset=dataset, **data)

    return _form_page(
        request, DatasetForm(request.POST or None, initial=initial, editing=True), "agencies/dataset_form.html",
        {"owner": dataset.owner, "dataset": dataset}, save=save,
        done=lambda _: (f"The changes to {dataset.name} have been saved.",
                        redirect("dataset-detail", code=dataset.code)),
        error_field="name")
