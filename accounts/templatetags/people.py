"""`{% load people %}` then `{{ user|display_name }}` and `{{ user|job_title }}`."""

from django import template

from accounts import selectors

register = template.Library()
register.filter("display_name", selectors.display_name)
register.filter("job_title", selectors.job_title)
