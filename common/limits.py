"""How much text the registry keeps, the same in every channel.

The API's serializers, the pages' forms, the spreadsheet importer and the services' own rules all read these
numbers (and word their refusals with `too_long`), so text one channel accepts is accepted by every other. The audit
log's own cap on an event's detail is kept by audit.services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django import forms
    from rest_framework import serializers

CODE_MAX = 64  # agency, dataset and legal-basis codes
USERNAME_MAX = 150  # Django's own
TITLE_MAX = 200  # an agreement's title
NAME_MAX = 200  # an agency's, a dataset's or a person's name
PURPOSE_MAX = 10_000  # an agreement's or a flow's purpose: a few pages; longer text belongs in its documents
DESCRIPTION_MAX = 10_000  # a dataset's description
REASON_MAX = 2_000  # why an agreement was rejected, suspended, reinstated, revoked or withdrawn; review notes
COMMENTS_MAX = 5_000  # the changes a party asks for
REVIEW_NOTES_MAX = 2_000  # notes with a party's confirmation of a review
DPIA_REFERENCE_MAX = 64
RETENTION_MAX = 200  # how long the recipient keeps the data
DATA_ITEM_MAX = 200  # one named data item
DATA_ITEMS_MAX = 200  # how many data items one flow or dataset names
FLOWS_MAX = 50  # how many flows one agreement has
QUESTION_PURPOSE_MAX = 1_000  # the purpose given with a "may I share?" check
SEARCH_MAX = 200  # what someone types into a search or filter box


def too_long(what: str, limit: int) -> str:
    """The one wording of a refusal for length: "Keep the purpose to 10,000 characters or fewer."."""
    return f"Keep the {what} to {limit:,} characters or fewer."


def too_many(what: str, limit: int) -> str:
    return f"Name at most {limit:,} {what}."


NUL_MESSAGE = "Remove the NUL character (\\0): text cannot hold one."


def text_problem(value: str, *, what: str, limit: int) -> str | None:
    """Why `value` cannot be kept (too long, or holding a NUL character, which PostgreSQL refuses), or None."""
    if "\x00" in value:
        return NUL_MESSAGE
    if len(value) > limit:
        return too_long(what, limit)
    return None


def api_text(what: str, limit: int, **kwargs: Any) -> serializers.CharField:
    """A DRF text field of at most `limit` characters, refused in the same words as every other channel."""
    from rest_framework import serializers  # late: settings name DRF plumbing that imports the apps' modules

    messages = {"max_length": too_long(what, limit), **kwargs.pop("error_messages", {})}
    return serializers.CharField(max_length=limit, error_messages=messages, **kwargs)


def form_text(what: str, limit: int, **kwargs: Any) -> forms.CharField:
    """A Django form text field of at most `limit` characters, refused in the same words as every other channel.

    No maxlength attribute is drawn: a browser would cut pasted text short without saying so."""
    from django import forms

    messages = {"max_length": too_long(what, limit), **kwargs.pop("error_messages", {})}
    field = forms.CharField(max_length=limit, error_messages=messages, **kwargs)
    field.widget.attrs.pop("maxlength", None)
    return field
