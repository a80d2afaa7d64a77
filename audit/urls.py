from django.urls import path

from . import views

urlpatterns = [
    path("audit/", views.event_list_page, name="audit-events"),
    path("audit/events/<int:seq>/", views.event_detail_page, name="audit-event"),
    path("audit/exports/", views.export_request, name="audit-export-request"),
    path("audit/verify/", views.verification_request_page, name="audit-verify-request"),
    path("audit/exports/<uuid:job_id>/", views.export_job_page, name="audit-export-job"),
    path("audit/exports/<uuid:job_id>/download/", views.export_job_file, name="audit-export-job-download"),
]
