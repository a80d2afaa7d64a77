"""`{% load agreement_status %}` then `{% agreement_status_tag agreement %}`: the status as it reads today."""

from typing import Any

from django import template

from agreements.status import status_code, status_label

register = template.Library()


@register.inclusion_tag("includes/status_tag.html")
def agreement_status_tag(agreement: Any) -> dict[str, str]:
    return {"status": status_code(agreement), "label": status_label(agreement)}


register.filter("agreement_status_label", status_label)
