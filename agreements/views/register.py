"""The register: every agreement the user may see, searched and filtered, a page at a time.

The selector decides what is visible; the form turns names people type into the codes it filters on.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from agencies.choices import Role
from agencies.models import Agency, Dataset
from agencies.selectors import user_agency_ids
from common.lookups import NoMatch, by_code_or_name
from common.pagination import pagination
from common.types import AuthenticatedHttpRequest

from ..models import LegalBasis
from ..selectors import RegisterPaginator, agreement_search, register_page
from ..services import agreement_record_listed
from ..status import RegisterStatus
from .agreement import _shown_version

PAGE_SIZE = 25
SEARCH_MAX = 200


def _find_one(model: type[Agency] | type[Dataset], text: str, what: str) -> str:
    """The code of the agency or dataset named by `text`: its code or exact name, else the one name containing it."""
    try:
        found = cast("Agency | Dataset", by_code_or_name(model.objects.all(), text))  # one model or the other
        return found.code
    except NoMatch as none:
        if none.exact:
            raise ValidationError(f"More than one {what} is called “{text}”. Enter its code instead") from None
        if none.candidates:
            names = ", ".join(f"{row.name} ({row.code})" for row in none.candidates[:5])
            names += " and more" if len(none.candidates) > 5 else ""
            raise ValidationError(f"More than one {what} has “{text}” in its name: {names}. Enter more of the name, "
                                  "or its code") from None
        raise ValidationError(f"There is no {what} called or coded “{text}”. Check the spelling") from None


class AgreementFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=SEARCH_MAX,
                        help_text="Words in the title or purpose, or a reference such as ISA-2026-0042",
                        error_messages={"max_length": "Keep the search to 200 characters or fewer"})
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *RegisterStatus.choices],
                               error_messages={"invalid_choice": "Choose a status from the list"})
    agency = forms.CharField(label="Agency", required=False, max_length=SEARCH_MAX,
                             help_text="A party agency’s name, part of it, or its code",
                             error_messages={"max_length": "Keep the agency to 200 characters or fewer"})
    dataset = forms.CharField(label="Dataset", required=False, max_length=SEARCH_MAX,
                              help_text="A dataset’s name, part of it, or its code",
                              error_messages={"max_length": "Keep the dataset to 200 characters or fewer"})
    legal_basis = forms.ChoiceField(label="Legal basis", required=False,
                                    error_messages={"invalid_choice": "Choose a legal basis from the list"})

    def __init__(self, *args: Any, bases: list[LegalBasis], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["legal_basis"]).choices = [
            ("", "Any legal basis"), *[(b.code, f"{b.citation}: {b.title}") for b in bases]]

    def clean_agency(self) -> str:
        text = self.cleaned_data["agency"].strip()
        return _find_one(Agency, text, "agency") if text else ""

    def clean_dataset(self) -> str:
        text = self.cleaned_data["dataset"].strip()
        return _find_one(Dataset, text, "dataset") if text else ""


@login_required
@require_safe
def agreement_list_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    bases = list(LegalBasis.objects.filter(active=True).order_by("kind", "code").only("code", "citation", "title"))
    form = AgreementFilterForm(request.GET or None, bases=bases)
    may_draft = request.user.is_superuser or bool(user_agency_ids(request.user, {Role.GOVERNANCE_OFFICER}))
    context: dict[str, Any] = {"form": form, "page": None, "rows": [], "can_create": may_draft}
    if form.is_bound and not form.is_valid():
        return render(request, "agreements/agreement_list.html", context, status=400)
    filters = {name: value for name, value in form.cleaned_data.items() if value} if form.is_bound else {}
    page = register_page(request, agreement_search(user=request.user, filters=filters), PAGE_SIZE)
    rows = []
    for agreement in page.object_list:
        version = _shown_version(agreement)
        rows.append({
            "agreement": agreement, "version": version, "parties": [p.agency for p in version.party_list()],
            "amending": agreement.full_view and agreement.in_force_version_id not in (None, version.pk),
        })
    paginator = cast(RegisterPaginator, page.paginator)
    agreement_record_listed(actor=request.user, filters=filters, count=paginator.shown_count,
                            count_exact=not paginator.capped)
    query = {name: form.data.get(name, "").strip() for name in form.fields if form.data.get(name, "").strip()}
    context.update(page=page, rows=rows, filters=filters, pagination=pagination(page, query))
    return render(request, "agreements/agreement_list.html", context)
