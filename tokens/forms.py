"""Browser forms. They only parse input; the rules live in the services."""

from typing import Any, cast

from django import forms
from django.conf import settings

EXPIRY_CHOICES = ((30, "30 days"), (90, "90 days"), (180, "6 months"), (365, "1 year"))


def expiry_choices() -> list[tuple[int, str]]:
    return [(days, label) for days, label in EXPIRY_CHOICES if days <= settings.API_TOKEN_MAX_DAYS]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100,
        help_text="Say which system will use it, so that others know what stops working if it is revoked.",
        error_messages={"required": "Enter a name for the token, such as the system that will use it",
                        "max_length": "The name must be 100 characters or fewer"},
    )
    days = forms.TypedChoiceField(
        label="Expires after", coerce=int,
        error_messages={"required": "Choose when the token expires", "invalid_choice": "Choose when the token expires"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = expiry_choices()
        cast(forms.ChoiceField, self.fields["days"]).choices = choices
        default = settings.API_TOKEN_DAYS
        self.fields["days"].initial = default if any(days == default for days, _ in choices) else choices[-1][0]
