"""The agreements pages, namespaced `agreements:`. No two patterns match the same path, so their order does not
matter: a reference always has a hyphen (so `agreements/new/` is never one), and the action converter matches only
the actions' names, none of which is `edit` or `print`."""

from django.urls import path, register_converter

from .views import agreement, check, form, register

app_name = "agreements"


class ReferenceConverter:
    """An agreement reference such as ISA-2026-0042: it always has a hyphen, so /agreements/new/ never matches."""

    regex = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ActionConverter:
    regex = "|".join(agreement.ACTION_PAGES)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "reference")
register_converter(ActionConverter, "agreement_action")

urlpatterns = [
    path("agreements/", register.agreement_list_page, name="list"),
    path("agreements/new/", form.agreement_create, name="create"),
    path("agreements/<reference:reference>/", agreement.agreement_detail, name="detail"),
    path("agreements/<str:reference>/edit/", form.agreement_edit, name="edit"),
    path("agreements/<str:reference>/print/", agreement.agreement_print, name="print"),
    path("agreements/<reference:reference>/versions/<int:number>/pdf/", agreement.agreement_version_pdf,
         name="version-pdf"),
    path("agreements/<reference:reference>/<agreement_action:action>/", agreement.agreement_action, name="action"),
    path("check/", check.check_page, name="check"),
    # The agreement form's type-ahead: agencies and datasets by name, from the whole directory.
    path("names/agencies/", form.agency_names, name="agency-names"),
    path("names/datasets/", form.dataset_names, name="dataset-names"),
]
