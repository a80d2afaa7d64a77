"""The frontline page "Can I share?". Works without JavaScript and on a phone-sized screen."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from agencies.choices import Role
from agencies.models import Agency, Dataset
from agencies.selectors import user_agency_codes, user_agency_ids
from common.limits import QUESTION_PURPOSE_MAX, form_text
from common.lookups import NoMatch, by_code_or_name
from common.types import AuthenticatedHttpRequest, User

from .. import decisions
from ..api.serializers import EARLIEST_CHECK, LATEST_CHECK
from ..models import Flow
from ..selectors import CHECK_REFUSED, may_ask_check

SUGGESTIONS = 8


def _find(model: type[Agency] | type[Dataset], text: str, *, extra: Q | None = None) -> Any:
    """One agency or dataset by code, exact name or a unique part of its name; else a friendly error."""
    text = text.strip()
    if not text:
        raise ValidationError("Enter an agency" if model is Agency else "Enter the information you want to share")
    try:
        return by_code_or_name(model.objects.filter(extra or Q()), text, suggestions=SUGGESTIONS)
    except NoMatch as none:
        if not none.candidates:
            raise ValidationError(f"Nothing matches “{text}”. Check the spelling, or choose from the list") from None
        names = ", ".join(m.name for m in none.candidates[:SUGGESTIONS])
        raise ValidationError(f"More than one matches “{text}”: {names}. Type more of the name") from None


class CheckForm(forms.Form):
    provider = forms.ChoiceField(label="Your agency", error_messages={
        "required": "Choose your agency", "invalid_choice": "Choose one of your own agencies"})
    recipient = forms.CharField(label="Who do you want to share with?", max_length=200,
                                help_text="Start typing the agency’s name",
                                error_messages={"required": "Enter the agency you want to share with"})
    dataset = forms.CharField(label="What information do you want to share?", max_length=200,
                              help_text="The dataset, for example “Smoking and home fire risk”",
                              error_messages={"required": "Enter the information you want to share"})
    purpose = form_text("purpose", QUESTION_PURPOSE_MAX, label="Why do you want to share it? (optional)",
                        required=False, widget=forms.Textarea(attrs={"rows": 3}))
    on = forms.DateField(label="When will you share it? (optional)", required=False,
                         help_text="Leave blank for today. For example, 27/3/2026",
                         input_formats=["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"],
                         error_messages={"invalid": "Enter a real date, for example 27/3/2026"})

    def __init__(self, *args: Any, agencies: list[Agency], any_provider: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agencies = {a.code: a for a in agencies}
        self.any_provider = any_provider
        if any_provider:  # an auditor (or a superuser) may ask about any agency's sharing, by name
            self.fields["provider"] = forms.CharField(
                label="Which agency holds the information?", max_length=200, help_text="Start typing the agency’s name",
                error_messages={"required": "Enter the agency that holds the information"})
            return
        cast(forms.ChoiceField, self.fields["provider"]).choices = [(a.code, a.name) for a in agencies]
        if len(agencies) == 1:
            self.fields["provider"].initial = agencies[0].code

    def clean_on(self) -> dt.date | None:
        value = self.cleaned_data.get("on")
        if value and not EARLIEST_CHECK <= value <= LATEST_CHECK:
            raise ValidationError(f"Enter a date between {EARLIEST_CHECK:%d/%m/%Y} and {LATEST_CHECK:%d/%m/%Y}")
        return value

    def clean_recipient(self) -> Agency:
        return _find(Agency, self.cleaned_data["recipient"], extra=Q(active=True))

    def clean_provider(self) -> str:
        text = self.cleaned_data["provider"]
        if self.any_provider:
            provider = _find(Agency, text, extra=Q(active=True))
            self.agencies[provider.code] = provider
            return provider.code
        return text

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        provider = self.agencies.get(cleaned.get("provider", ""))
        if provider and "dataset" in cleaned:
            try:
                cleaned["dataset"] = _find(Dataset, cleaned["dataset"], extra=Q(owner=provider))
            except ValidationError as exc:
                self.add_error("dataset", exc)
        recipient = cleaned.get("recipient")
        if provider and isinstance(recipient, Agency) and recipient.pk == provider.pk:
            self.add_error("recipient", "Choose a different agency from your own")
        return cleaned


def _own_agencies(user: User) -> list[Agency]:
    return list(Agency.objects.filter(pk__in=user_agency_ids(user), active=True).order_by("name"))


def _suggestions(agencies: list[Agency]) -> dict:
    """Names for the browser's own type-ahead (datalist): partners first, and the agencies' datasets."""
    ids = [a.pk for a in agencies]
    partner_ids = Flow.objects.filter(Q(provider_id__in=ids) | Q(recipient_id__in=ids)).values("recipient_id")
    partners = Agency.objects.filter(Q(pk__in=partner_ids) & ~Q(pk__in=ids), active=True).order_by("name")
    datasets = Dataset.objects.filter(owner_id__in=ids).order_by("name")
    return {
        "partner_names": list(partners.values_list("name", flat=True)[:200]),
        "dataset_names": list(datasets.values_list("name", flat=True)[:200]),
    }


@login_required
def check_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    agencies = _own_agencies(user)
    # Who may ask about whom is the register's one rule (selectors.may_ask_check), as in the API: auditors may ask
    # about any agency, and so choose the provider by name rather than from their own agencies.
    any_provider = user.is_superuser or bool(user_agency_codes(user, {Role.AUDITOR}))
    context = {"agencies": agencies, "today": timezone.localdate()}
    if not agencies and not any_provider:
        return render(request, "agreements/check.html", {**context, "no_agency": True}, status=403)
    form = CheckForm(request.POST or None, agencies=agencies, any_provider=any_provider)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not may_ask_check(user=user, provider=data["provider"], recipient=data["recipient"].code):
            form.add_error("provider", CHECK_REFUSED)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        context["decision"] = decisions.check(
            provider=data["provider"],
            recipient=data["recipient"].code,
            dataset=data["dataset"].code,
            purpose=data["purpose"],
            on=data["on"] or None,
            asker=user,
        )
        context["agencies"] = list(form.agencies.values())
        context["asked"] = {"recipient": data["recipient"], "dataset": data["dataset"], "on": data["on"]}
    context.update(form=form, **_suggestions(agencies))
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(request, "agreements/check.html", context, status=status)
