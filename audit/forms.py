"""The filter form on the auditors' page."""

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from django import forms

from common.date_input import DatePartsField, date_input, error_part

from .choices import AuditAction

# The days a filter may name: any wider and a day past the last (the end of "to") cannot be written (year 9999).
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
DATE_FIELDS = ("since", "until")


class EventFilterForm(forms.Form):
    since = DatePartsField(label="From date", required=False, earliest=EARLIEST, latest=LATEST,
                           help_text="The first day to include. For example, 1 4 2026")
    until = DatePartsField(label="To date", required=False, earliest=EARLIEST, latest=LATEST,
                           help_text="The last day to include. For example, 30 4 2026")
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

    def __init__(self, *args: Any, agencies: Iterable[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (code, name) pairs
        cast(forms.ChoiceField, self.fields["agency"]).choices = [("", "Any agency you audit"), *agencies]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "The to date must be the same as or after the from date.")
        return data

    def date_inputs(self) -> list[dict]:
        return [date_input(self[name]) for name in DATE_FIELDS]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in DATE_FIELDS]

    def anchor(self, name: str) -> str:
        """Where an error summary link for `name` jumps: for a date, the box that is wrong."""
        if name in DATE_FIELDS:
            return f"{self[name].auto_id}_{error_part(self[name]) or 'day'}"
        return self[name].auto_id

    def error_links(self) -> list[tuple[str, str]]:
        return [(self.anchor(name), str(message)) for name in self.fields for message in self[name].errors]
