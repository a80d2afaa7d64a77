"""Browser forms. They only parse input; the rules live in the services."""

from typing import Any

from django import forms

from .choices import AgencyKind, Classification, Role

ROLE_CHOICES = [("", "Choose a role"), *Role.choices]
ROLE_ERRORS = {"required": "Choose a role.", "invalid_choice": "Choose a role from the list."}


class AgencySearchForm(forms.Form):
    q = forms.CharField(label="Search by name or code", required=False, max_length=200)
    kind = forms.ChoiceField(label="Kind of agency", required=False, choices=[("", "Any kind"), *AgencyKind.choices])


class MemberAddForm(forms.Form):
    """Someone who already has an account: their username and email must both match, so it cannot find accounts."""

    username = forms.CharField(
        label="Username",
        max_length=150,
        error_messages={"required": "Enter the username of the person to add."},
    )
    email = forms.EmailField(
        label="Their email address",
        max_length=254,
        error_messages={"required": "Enter their email address.",
                        "invalid": "Enter an email address in the correct format, like name@example.org."},
    )
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, error_messages=ROLE_ERRORS)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class MemberRemoveForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


class MemberLeaveForm(forms.Form):
    username = forms.CharField(max_length=150)


class MemberRoleChangeForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)
    from_role = forms.ChoiceField(choices=Role.choices, widget=forms.HiddenInput)
    to_role = forms.ChoiceField(label="New role", choices=ROLE_CHOICES, error_messages=ROLE_ERRORS)


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Email address", max_length=254,
        error_messages={"required": "Enter their email address.",
                        "invalid": "Enter an email address in the correct format, like name@example.org."},
    )
    name = forms.CharField(label="Full name", max_length=200,
                           error_messages={"required": "Enter the person's full name."})
    job_title = forms.CharField(label="Job title (optional)", max_length=200, required=False)
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, error_messages=ROLE_ERRORS)


class AgencyForm(forms.Form):
    """An agency's details; `code` only when adding one (it never changes)."""

    code = forms.SlugField(
        label="Code", max_length=64, help_text="Short and unique, in lower case with hyphens, like manchester-cc. "
        "Other systems use it, so it cannot be changed later.",
        error_messages={"required": "Enter a code.",
                        "invalid": "Use only lower-case letters, numbers and hyphens in the code."},
    )
    name = forms.CharField(label="Name", max_length=200, error_messages={"required": "Enter the agency's name."})
    kind = forms.ChoiceField(label="Kind of agency", choices=[("", "Choose a kind"), *AgencyKind.choices],
                             error_messages={"required": "Choose the kind of agency."})
    ico_registration = forms.CharField(label="ICO registration number (optional)", max_length=32, required=False)
    dpo_name = forms.CharField(label="Data Protection Officer (optional)", max_length=200, required=False,
                               help_text="Their name. Checks name them to frontline staff who have questions")
    dpo_email = forms.EmailField(label="Data Protection Officer email (optional)", max_length=254, required=False,
                                 error_messages={"invalid": "Enter the email address in the correct format."})
    siro_name = forms.CharField(label="Senior Information Risk Owner (optional)", max_length=200, required=False)
    caldicott_guardian_name = forms.CharField(label="Caldicott Guardian (optional)", max_length=200, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]


class DatasetForm(forms.Form):
    """A dataset's details. Data items are typed one a line; flags say which UK GDPR articles apply."""

    code = forms.SlugField(
        label="Code", max_length=64, help_text="Short and unique, like mft-discharge-summaries. It cannot be changed.",
        error_messages={"required": "Enter a code.",
                        "invalid": "Use only lower-case letters, numbers and hyphens in the code."},
    )
    name = forms.CharField(label="Name", max_length=200, error_messages={"required": "Enter the dataset's name."})
    description = forms.CharField(label="Description (optional)", required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    data_items = forms.CharField(label="Data items", required=False, max_length=50_000,
                                 help_text="One a line, like: name, date of birth, NHS number.",
                                 widget=forms.Textarea(attrs={"rows": 8}))
    classification = forms.ChoiceField(label="Classification", choices=Classification.choices,
                                       initial=Classification.OFFICIAL)
    special_category = forms.BooleanField(label="It holds special category data (UK GDPR Article 9), such as health",
                                          required=False)
    criminal_offence = forms.BooleanField(label="It holds criminal offence data (UK GDPR Article 10)",
                                          required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]

    def clean_data_items(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["data_items"].splitlines() if line.strip()]
