from django.urls import path, register_converter

from . import views


class SignedIntConverter:
    """Any integer, negative too: a row planted with a seq below 1 (which the insert guard now refuses) still gets a
    link and a page, never a 500 from the list that shows it."""

    regex = "-?[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(int(value))


register_converter(SignedIntConverter, "signed")

urlpatterns = [
    path("audit/", views.event_list_page, name="audit-events"),
    path("audit/events/<signed:seq>/", views.event_detail_page, name="audit-event"),
    path("audit/exports/", views.export_request, name="audit-export-request"),
    path("audit/verify/", views.verification_request_page, name="audit-verify-request"),
    path("audit/exports/<uuid:job_id>/", views.export_job_page, name="audit-export-job"),
    path("audit/exports/<uuid:job_id>/download/", views.export_job_file, name="audit-export-job-download"),
]
