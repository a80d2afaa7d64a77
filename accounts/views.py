"""Password reset and change: Django's views and forms, as GOV.UK pages, throttled and audited.

Forgotten passwords: the answer is the same whether or not the address has an account; the email is sent by a
worker after commit (accounts/tasks.py). Each change of password is recorded by accounts/signals.py, as
`auth.password_reset` through the emailed link and `auth.password_changed` otherwise, in the change's transaction.
"""

from __future__ import annotations

from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from audit.choices import AuditAction
from common import context

from . import services
from .signals import password_event
from .throttle import spend


class ResetRequestForm(PasswordResetForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["email"]
        field.label = "Email address"
        field.error_messages.update({"required": "Enter your email address.",
                                     "invalid": "Enter an email address in the correct format, like name@example.org."})


class NewPasswordForm(SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "New password"
        self.fields["new_password2"].label = "Type the new password again"
        self.fields["new_password1"].error_messages["required"] = "Enter a new password."
        self.fields["new_password2"].error_messages["required"] = "Type the new password again."
        self.error_messages = {**self.error_messages, "password_mismatch": "The two passwords do not match."}


class ChangePasswordForm(NewPasswordForm, PasswordChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Current password"
        self.fields["old_password"].error_messages["required"] = "Enter your current password."
        self.error_messages = {**self.error_messages,
                               "password_incorrect": "Your current password is not right. Enter it again."}


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


class PasswordResetView(auth_views.PasswordResetView):
    form_class = ResetRequestForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not spend("password-reset-client", _client(request), limit=settings.PASSWORD_RESET_LIMIT_PER_CLIENT,
                     seconds=3600):
            response = render(request, "registration/password_reset_throttled.html", status=429)
            response["Retry-After"] = "3600"
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        services.password_reset_request(email=form.cleaned_data["email"], client=_client(request=self.request))
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm

    def form_valid(self, form: Any) -> HttpResponse:
        # The person holding the emailed link acts for themselves, though not signed in.
        with (transaction.atomic(), context.bind(actor=self.user),
              password_event(AuditAction.AUTH_PASSWORD_RESET, stage="completed")):
            response = super().form_valid(form)
            # Whoever holds the emailed link owns the account: lift its sign-in lockouts (each `auth.lockout_reset`).
            axes_reset(username=form.user.get_username())
            return response


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ChangePasswordForm
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            return super().form_valid(form)
