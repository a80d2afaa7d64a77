"""The pages to draft and change an agreement. Included before agreements.urls, so that `agreements/new/` is
never read as an agreement's reference."""

from django.urls import path

from . import form_views

urlpatterns = [
    path("agreements/new/", form_views.agreement_create, name="agreement-create"),
    path("agreements/<str:reference>/edit/", form_views.agreement_edit, name="agreement-edit"),
    # The agreement form's type-ahead: agencies and datasets by name, from the whole directory.
    path("names/agencies/", form_views.agency_names, name="agency-names"),
    path("names/datasets/", form_views.dataset_names, name="dataset-names"),
]
