"""The filter form on the auditors' page."""

from django import forms

from .choices import AuditAction

DATE_INPUT = {"type": "date", "class": "govuk-input govuk-input--width-10"}


class EventFilterForm(forms.Form):
    since = forms.DateField(label="From (date)", required=False, help_text="The first day to include",
                            widget=forms.DateInput(attrs=DATE_INPUT))
    until = forms.DateField(label="To (date, included)", required=False, help_text="The last day to include",
                            widget=forms.DateInput(attrs=DATE_INPUT))
    agency = forms.ChoiceField(label="Agency", required=False, widget=forms.Select(attrs={"class": "govuk-select"}),
                               error_messages={"invalid_choice": "Choose one of the agencies you audit from the list."})
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices],
                               widget=forms.Select(attrs={"class": "govuk-select"}),
                               error_messages={"invalid_choice": "Choose an action from the list."})
    actor = forms.CharField(label="Actor (username)", required=False, max_length=150,
                            widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-20"}))
    object_type = forms.CharField(label="Object type", required=False, max_length=64,
                                  widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10"}))
    object_ref = forms.CharField(label="Object reference", required=False, max_length=128,
                                 widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-20"}))

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [("", "Any agency you audit"), *[(a.code, a.name) for a in agencies]]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "The end date must be the same as or after the start date.")
        return data
