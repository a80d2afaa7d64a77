"""Filters for the agency and dataset directories, applied by the selectors for the API and the browser alike.

The API validates query parameters first (each list view's FilterSerializer), so these receive clean values.
The REST-framework flavour of FilterSet reads booleans as true/false rather than Django's 2/3.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import rest_framework as django_filters

from .choices import AgencyKind, Classification
from .models import Agency, Dataset


def _search(queryset: QuerySet, fields: tuple[str, ...], value: str) -> QuerySet:
    value = value.strip()
    if not value:
        return queryset
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value})
    return queryset.filter(condition)


class AgencyFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or code contains")
    kind = django_filters.ChoiceFilter(choices=AgencyKind.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = Agency
        fields = ["q", "kind", "active"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("name", "code"), value)


class DatasetFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or code contains")
    owner = django_filters.CharFilter(field_name="owner__code", label="Owner agency code")
    special_category = django_filters.BooleanFilter()
    criminal_offence = django_filters.BooleanFilter()
    classification = django_filters.ChoiceFilter(choices=Classification.choices)

    class Meta:
        model = Dataset
        fields = ["q", "owner", "special_category", "criminal_offence", "classification"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("name", "code"), value)
