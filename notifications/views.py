"""Pages: the inbox (newest first, paginated; items marked read one by one or all at once) and the email setting."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from common.pagination import page_of, pagination
from common.types import AuthenticatedHttpRequest

from . import selectors, services

PAGE_SIZE = 20


@login_required
@require_http_methods(["GET"])
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = page_of(request, selectors.notification_list(user=request.user), PAGE_SIZE)
    return render(request, "notifications/inbox.html", {
        "page": page, "notices": list(page.object_list), "pagination": pagination(page, {}),
        "wants_email": selectors.wants_email(request.user),
    })


@login_required
@require_POST
def mark_read(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notice read; then go where its button said (its agreement), or back to the inbox."""
    notice = services.notification_mark_read(user=request.user, notification_id=notification_id)
    target = request.POST.get("next") or ""
    if target and target == notice.link and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect("notification-inbox")


@login_required
@require_POST
def mark_all_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(user=request.user)
    messages.success(request, f"{count} notification{'' if count == 1 else 's'} marked as read.")
    return redirect("notification-inbox")


class EmailSettingForm(forms.Form):
    email = forms.ChoiceField(label="Do you want each notification by email as well?",
                              choices=[("yes", "Yes, email me each one"),
                                       ("no", "No, only show them in the registry")],
                              widget=forms.RadioSelect,
                              error_messages={"required": "Choose whether you want notifications by email"})


@login_required
@require_http_methods(["GET", "POST"])
def email_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = EmailSettingForm(request.POST if request.method == "POST" else None,
                            initial={"email": "yes" if selectors.wants_email(request.user) else "no"})
    if request.method == "POST" and form.is_valid():
        wanted = form.cleaned_data["email"] == "yes"
        services.notification_preference_set(user=request.user, email=wanted)
        messages.success(request, "You will get notifications by email as well." if wanted else
                         "You will no longer get notifications by email. They still appear in your notifications.")
        return redirect("notification-settings")
    return render(request, "notifications/settings.html", {"form": form}, status=400 if form.errors else 200)
