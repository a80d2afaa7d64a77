"""The GOV.UK date input (day, month and year boxes) as a Django form field, for every page that asks for a date.

In `common`, so that every app's forms use the one field and its wording: an error names
its field ("Start date must be a real date") and says which box is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.datastructures import MultiValueDict

DATE_PARTS = ("day", "month", "year")
_ISO = re.compile(r"(\d{1,6})-(\d{1,2})-(\d{1,2})")


class DatePartsWidget(forms.MultiWidget):
    """The GOV.UK date input: day, month and year boxes, posted as <name>_day, <name>_month, <name>_year."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(widgets={part: forms.TextInput for part in DATE_PARTS}, attrs=attrs)

    def value_from_datadict(self, data: Mapping[str, Any], files: MultiValueDict[str, UploadedFile], name: str) -> Any:
        """The three boxes; or, when none was sent, one YYYY-MM-DD value under the field's own name (a link or a
        bookmark written before the boxes, and the API's form of a date)."""
        if not any(f"{name}_{part}" in data for part in DATE_PARTS) and data.get(name):
            whole = str(data.get(name)).strip()
            match = _ISO.fullmatch(whole)
            return [match[3], match[2], match[1]] if match else [whole, "", ""]
        return super().value_from_datadict(data, files, name)

    def decompress(self, value: Any) -> list[str | None]:
        if isinstance(value, dt.date):
            return [str(value.day), str(value.month), str(value.year)]
        return [None, None, None]


class DatePartsField(forms.Field):
    """A date typed as day, month and year. All three blank means "no date" (the rules say it is needed)."""

    widget = DatePartsWidget

    def __init__(self, *args: Any, earliest: dt.date | None = None, latest: dt.date | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.earliest, self.latest = earliest, latest

    def validate(self, value: dt.date | None) -> None:
        super().validate(value)
        if value is not None and self.earliest and self.latest and not self.earliest <= value <= self.latest:
            raise ValidationError(f"{self.label} must be between {self.earliest.day} {self.earliest:%B %Y} and "
                                  f"{self.latest.day} {self.latest:%B %Y}", code="range", params={"part": "year"})

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date) or value is None:
            return value
        parts = [str(p or "").strip() for p in value]
        if not any(parts):
            return None
        label = str(self.label)
        missing = [name for name, part in zip(DATE_PARTS, parts, strict=True) if not part]
        if missing:
            raise ValidationError(f"{label} must include a {' and a '.join(missing)}", code="incomplete",
                                  params={"part": missing[0]})
        for name, part in zip(DATE_PARTS, parts, strict=True):
            if not (part.isascii() and part.isdigit()):
                raise ValidationError(f"{label} must be a real date, in numbers", code="invalid",
                                      params={"part": name})
        if len(parts[2]) != 4:
            raise ValidationError(f"The year of the {label.lower()} must include 4 numbers", code="invalid",
                                  params={"part": "year"})
        day, month, year = (int(part) for part in parts)
        try:
            return dt.date(year, month, day)
        except (ValueError, OverflowError):
            part = "month" if not 1 <= month <= 12 else "day"
            raise ValidationError(f"{label} must be a real date", code="invalid", params={"part": part}) from None


def error_part(bound: forms.BoundField) -> str | None:
    """Which box of a date input the first error is about (None: the date as a whole, or no error)."""
    errors = bound.form.errors.as_data().get(bound.name) if bound.form.is_bound else None
    if not errors:
        return None
    return (errors[0].params or {}).get("part")


def date_parts(value: Any) -> list[str]:
    """Day, month and year as the boxes should show them: from a date, or from what was typed."""
    if isinstance(value, dt.date):
        return [str(value.day), str(value.month), str(value.year)]
    if isinstance(value, list | tuple) and len(value) == len(DATE_PARTS):
        return ["" if p is None else str(p) for p in value]
    return ["", "", ""]




def date_input(bound: forms.BoundField) -> dict[str, Any]:
    """What templates/includes/date_input.html needs to draw one GOV.UK date input, with the boxes as typed."""
    parts = date_parts(bound.value())
    wrong = error_part(bound)
    return {
        "field": bound,
        "id": bound.auto_id,
        "parts": [{"name": f"{bound.html_name}_{part}", "id": f"{bound.auto_id}_{part}",
                   "label": part.capitalize(), "value": value,
                   "error": bool(bound.errors) and wrong in (None, part),
                   "width": "govuk-input--width-4" if part == "year" else "govuk-input--width-2"}
                  for part, value in zip(DATE_PARTS, parts, strict=True)],
    }
