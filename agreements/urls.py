from django.urls import path, register_converter

from . import check_views, views


class ReferenceConverter:
    """An agreement reference such as ISA-2026-0042: it always has a hyphen, so /agreements/new/ never matches."""

    regex = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ActionConverter:
    regex = "|".join(views.ACTION_PAGES)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "reference")
register_converter(ActionConverter, "agreement_action")

urlpatterns = [
    path("check/", check_views.check_page, name="check"),
    path("agreements/", views.agreement_list_page, name="agreement-list"),
    path("agreements/<reference:reference>/", views.agreement_detail, name="agreement-detail"),
    path("agreements/<str:reference>/print/", views.agreement_print, name="agreement-print"),
    path("agreements/<reference:reference>/versions/<int:number>/pdf/", views.agreement_version_pdf,
         name="agreement-version-pdf"),
    path("agreements/<reference:reference>/versions/<int:number>/comments/", views.agreement_comments,
         name="agreement-version-comments"),
    path("agreements/<reference:reference>/<agreement_action:action>/", views.agreement_action,
         name="agreement-action"),
]
