"""The event detail's field: JSON kept as the text its hash covers."""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast

from .canonical import canonical_json


class _KeyOf:
    """`detail__key` (and deeper): the key of the stored text read as JSON, as a JSONField's key lookups read it."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, lhs: Any, *args: Any, **kwargs: Any) -> KeyTransform:
        return KeyTransform(self.key, Cast(lhs, models.JSONField()), *args, **kwargs)


class CanonicalJSONField(models.TextField):
    """A JSON value stored as its canonical text (audit.canonical.canonical_json: keys sorted, compact, ASCII).

    The stored text is the detail's part of the event's hashed bytes as it stands, so verification hashes it without
    decoding it (what makes a full verification fast), and a text changed in any way, even to one that decodes to
    the same value, no longer verifies. Readers get the decoded value; a text that is no JSON (only a changed row
    can hold one) is given as it is, so the pages showing it still work."""

    description = "A JSON value stored as canonical text"
    # For django-stubs: the value is any JSON value, as a JSONField's is.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError:
            return value

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else canonical_json(value)

    def value_to_string(self, obj: models.Model) -> str:
        return canonical_json(self.value_from_object(obj))

    def get_transform(self, name: str) -> Any:
        return super().get_transform(name) or _KeyOf(name)
