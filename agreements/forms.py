"""Forms for drafting and editing an agreement in the browser. They only parse what was typed.

Every rule about the terms (dates in order, an Article 6 basis, the provider owning the dataset...) lives in
`rules.resolve_terms`, which the services call; the page puts its errors next to the fields named here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from agencies.models import Agency
from common.date_input import DatePartsField, date_input, error_part

from .choices import Frequency, LegalBasisKind, Method, TermsErrorCode
from .models import Flow, LegalBasis

DATE_FIELDS = ("start_date", "end_date", "review_date")
FLOW_TEXT_FIELDS = ("dataset", "provider", "recipient", "dataset_search", "provider_search", "recipient_search",
                    "purpose", "data_items", "retention", "new_data_item")
# Agencies and datasets are chosen from a list (a select, which accessible-autocomplete turns into a type-ahead),
# or typed by name or code into the box beside it, for one not in the list (how it works without JavaScript).
PICKED = ("dataset", "provider", "recipient")
NAME_MAX = 200


def search_field(noun: str) -> forms.CharField:
    return forms.CharField(label=f"Or type the name of {noun} not in the list", required=False, max_length=NAME_MAX,
                           error_messages={"max_length": f"Type at most {NAME_MAX} characters of the name"})

# The order and wording of the legal-basis groups on the page; the Article 6 group is always open.
BASIS_GROUPS = [
    (LegalBasisKind.ARTICLE6, "UK GDPR Article 6 lawful basis (every flow needs one)"),
    (LegalBasisKind.ARTICLE9, "UK GDPR Article 9 conditions (special category data, such as health)"),
    (LegalBasisKind.ARTICLE10, "UK GDPR Article 10 (criminal offence data)"),
    (LegalBasisKind.STATUTE, "Statutory gateways and Data Protection Act 2018 Schedule 1 conditions"),
    (LegalBasisKind.COMMON_LAW, "Common law duty of confidentiality"),
]


# The groups an error opens besides Article 6 (always open), by the rule's code: each opens the group it asks for.
GROUPS_AN_ERROR_OPENS = {
    TermsErrorCode.NO_ARTICLE9: {LegalBasisKind.ARTICLE9},
    # Article 10 also needs a Schedule 1 condition, among the statutory gateways.
    TermsErrorCode.NO_ARTICLE10: {LegalBasisKind.ARTICLE10, LegalBasisKind.STATUTE},
}


def _groups_an_error_asks_for(errors: list[forms.ValidationError]) -> set[str]:
    wanted: set[str] = {LegalBasisKind.ARTICLE6}
    for error in errors:
        if error.code in TermsErrorCode.values:
            wanted |= GROUPS_AN_ERROR_OPENS.get(TermsErrorCode(error.code), set())
    return wanted


class AgreementForm(forms.Form):
    """The agreement's own terms. `lead_agencies` are the agencies the user may choose to lead (None: any code)."""

    lead_extra: list[dict[str, str]]  # the typed lead agency when it is not on the pick list (set by the view)
    title = forms.CharField(label="Title", required=False,
                            help_text="A short name people will recognise, for example “Hospital discharge to "
                                      "adult social care”")
    purpose = forms.CharField(label="Purpose", required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text="What the sharing is for, in plain English")
    lead_agency = forms.CharField(label="Lead agency", required=False)
    lead_agency_search = search_field("an agency")
    start_date = DatePartsField(label="Start date", required=False, help_text="For example, 1 4 2026")
    end_date = DatePartsField(label="End date", required=False, help_text="For example, 31 3 2028")
    review_date = DatePartsField(label="Review date", required=False,
                                 help_text="When the parties will check the agreement is still needed. It must fall "
                                           "between the start and end dates")
    dpia_reference = forms.CharField(label="DPIA reference (optional)", required=False,
                                     help_text="The reference of the data protection impact assessment, if there "
                                               "is one")

    def __init__(self, *args: Any, lead_agencies: Sequence[Agency] | None, lead_fixed: Agency | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lead_fixed = lead_fixed
        if lead_fixed is not None:
            # After the first submission the lead agency cannot change (the service refuses it too).
            self.fields["lead_agency"].disabled = True
            self.fields["lead_agency"].initial = lead_fixed.code
        elif lead_agencies is not None:
            choices = [(a.code, a.name) for a in lead_agencies]
            if len(choices) != 1:
                choices.insert(0, ("", "Choose the lead agency"))
            self.fields["lead_agency"] = forms.ChoiceField(
                label="Lead agency", required=False, choices=choices,
                help_text="The agency that leads the agreement. You can choose agencies where you are a "
                          "governance officer",
                error_messages={"invalid_choice": "Choose an agency where you are a governance officer"},
            )
        else:
            self.fields["lead_agency"].help_text = "The agency that leads the agreement"
        if lead_fixed is not None or lead_agencies is not None:
            del self.fields["lead_agency_search"]  # the user chooses among their own agencies only

    def lead_agency_typed(self) -> str:
        """The lead agency as chosen: what was typed in the box beside the list, else the list's choice."""
        data = getattr(self, "cleaned_data", {})
        return (data.get("lead_agency_search") or "").strip() or data.get("lead_agency", "")

    def date_inputs(self) -> list[dict[str, Any]]:
        """What the template needs to draw each GOV.UK date input, with the boxes as typed."""
        out = []
        for name in DATE_FIELDS:
            bound = self[name]
            out.append(date_input(bound))
        return out

    def anchor(self, name: str) -> str:
        """The id an error summary link for `name` should jump to: for a date, the box that is wrong."""
        if name in DATE_FIELDS:
            return f"{self[name].auto_id}_{error_part(self[name]) or 'day'}"
        return self[name].auto_id

    def terms(self) -> dict[str, Any]:
        """The parsed terms, as the services take them; a field that did not parse is left empty."""
        data = getattr(self, "cleaned_data", {})
        return {
            "title": data.get("title", ""), "purpose": data.get("purpose", ""),
            "lead_agency": self.lead_agency_typed(), "start_date": data.get("start_date"),
            "end_date": data.get("end_date"), "review_date": data.get("review_date"),
            "dpia_reference": data.get("dpia_reference", ""),
        }

    def typed(self) -> dict[str, Any]:
        """What the user typed, field by field, to draw the form again without checking it."""
        return {name: self[name].value() for name in self.fields}


class FlowForm(forms.Form):
    """One flow: a dataset going from a provider to a recipient, under the legal bases ticked."""

    provider = forms.CharField(label="Provider", required=False,
                               help_text="The agency that holds the dataset and sends it")
    provider_search = search_field("an agency")
    dataset = forms.CharField(label="Dataset", required=False,
                              help_text="The provider’s dataset, for example “Discharge summaries”")
    dataset_search = search_field("a dataset")
    recipient = forms.CharField(label="Recipient", required=False, help_text="The agency that receives it")
    recipient_search = search_field("an agency")
    purpose = forms.CharField(label="Purpose of this flow (optional)", required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Leave blank to use the agreement’s purpose")
    legal_bases = forms.MultipleChoiceField(label="Legal bases", required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            error_messages={"invalid_choice": "Choose legal bases from the list"})
    data_items = forms.CharField(label="Data items shared (optional)", required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text="One item per line, as the dataset names them. Leave blank to share "
                                           "every item the dataset holds")
    method = forms.ChoiceField(label="How it is shared", choices=Method.choices, initial=Method.SECURE_EMAIL,
                               error_messages={"invalid_choice": "Choose how the data is shared from the list"})
    frequency = forms.ChoiceField(label="How often", choices=Frequency.choices, initial=Frequency.AS_NEEDED,
                                  error_messages={"invalid_choice": "Choose how often from the list"})
    retention = forms.CharField(label="How long the recipient keeps it (optional)", required=False,
                                help_text="For example, 12 months after the case closes")
    new_data_item = forms.CharField(label="New data item", required=False, max_length=NAME_MAX,
                                    help_text="Governance officers and administrators of the agency that holds the "
                                              "dataset can add an item to it here. The change to the dataset is "
                                              "recorded in the audit log",
                                    error_messages={"max_length": f"Keep the item’s name to {NAME_MAX} characters"})

    def __init__(self, *args: Any, catalogue: Sequence[LegalBasis], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        cast(forms.ChoiceField, self.fields["legal_bases"]).choices = [(b.code, b.title) for b in catalogue]

    def is_blank(self) -> bool:
        """Nothing typed in the row (its selects keep their defaults): the row is left out, not an error."""
        return not any(_present(self[name].value()) for name in (*FLOW_TEXT_FIELDS, "legal_bases"))

    def basis_groups(self) -> list[dict[str, Any]]:
        """The catalogue grouped by kind for checkboxes, each ticked as typed; a group with a tick is open."""
        ticked = {str(code) for code in (self["legal_bases"].value() or [])}
        prefix = self["legal_bases"].auto_id
        wanted = _groups_an_error_asks_for(self.errors.as_data().get("legal_bases", []))
        groups = []
        for kind, label in BASIS_GROUPS:
            bases = [{"basis": b, "id": f"{prefix}-{b.code}", "checked": b.code in ticked}
                     for b in self.catalogue if b.kind == kind]
            if bases:
                groups.append({"kind": kind, "label": label, "bases": bases,
                               "open": kind in wanted or any(b["checked"] for b in bases)})
        return groups

    def anchor(self, name: str) -> str:
        if name == "legal_bases" and self.catalogue:
            return f"{self['legal_bases'].auto_id}-{self.catalogue[0].code}"
        return self[name].auto_id

    def picked(self, name: str) -> str:
        """The agency or dataset as chosen: the name or code typed beside the list, else the list's choice."""
        data = getattr(self, "cleaned_data", {})
        return (data.get(f"{name}_search") or "").strip() or (data.get(name) or "").strip()

    def flow(self) -> dict[str, Any]:
        """The flow as the services take it (lists; agencies and datasets as chosen, names until the page resolves
        them to codes), from what parsed."""
        data = self.cleaned_data
        return {
            "dataset": self.picked("dataset"), "provider": self.picked("provider"),
            "recipient": self.picked("recipient"), "purpose": data.get("purpose", ""),
            "legal_bases": list(data.get("legal_bases") or []),
            "data_items": [line.strip() for line in (data.get("data_items") or "").splitlines() if line.strip()],
            "method": data.get("method", ""), "frequency": data.get("frequency", ""),
            "retention": data.get("retention", ""),
        }

    def typed(self) -> dict[str, Any]:
        return {name: self[name].value() for name in self.fields}


def _present(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(str(v).strip() for v in value)
    return bool(str(value or "").strip())


MAX_FLOWS = 50



class BaseFlowFormSet(forms.BaseFormSet):
    default_error_messages = {
        "missing_management_form": "The form arrived incomplete, so the flows could not be read. Check them and "
                                   "save again",
        "too_many_forms": "An agreement can have up to %(num)d flows",
        "too_few_forms": "Add at least %(num)d flow",
    }


FlowFormSet = forms.formset_factory(FlowForm, formset=BaseFlowFormSet, extra=0, max_num=MAX_FLOWS,
                                    absolute_max=MAX_FLOWS, validate_max=True)


def flow_terms(flow: Flow) -> dict[str, Any]:
    """A saved flow as the services take it (its legal bases and agencies come prefetched by the selector)."""
    return {
        "dataset": flow.dataset.code, "provider": flow.provider.code, "recipient": flow.recipient.code,
        "purpose": flow.purpose, "legal_bases": [b.code for b in flow.basis_list()],
        "data_items": list(flow.data_items or []), "method": flow.method, "frequency": flow.frequency,
        "retention": flow.retention,
    }


def flow_initial(flow: Flow) -> dict[str, Any]:
    """A saved flow as the form shows it: data items one per line."""
    terms = flow_terms(flow)
    return {**terms, "data_items": "\n".join(terms["data_items"])}


def comparable_flows(flows: Sequence[dict[str, Any]]) -> list[tuple]:
    """Flows reduced to what matters for "did anything change?" (order of legal bases does not)."""
    return [
        (f["dataset"], f["provider"], f["recipient"], f["purpose"].strip(), tuple(sorted(f["legal_bases"])),
         tuple(f["data_items"]), f["method"], f["frequency"], f["retention"].strip())
        for f in flows
    ]
