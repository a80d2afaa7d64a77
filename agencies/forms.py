"""Browser forms. They only parse input; the rules live in the services."""

from django import forms

from .choices import AgencyKind, Role


class AgencySearchForm(forms.Form):
    q = forms.CharField(label="Search by name or code", required=False, max_length=200)
    kind = forms.ChoiceField(label="Kind of agency", required=False, choices=[("", "Any kind"), *AgencyKind.choices])


class MemberAddForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        error_messages={"required": "Enter the username of the person to add."},
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[("", "Choose a role"), *Role.choices],
        error_messages={"required": "Choose a role.", "invalid_choice": "Choose a role from the list."},
    )


class MemberRemoveForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)
