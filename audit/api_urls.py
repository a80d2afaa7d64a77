from django.urls import path

from . import apis

urlpatterns = [
    path("audit/events/", apis.EventListApi.as_view(), name="audit-event-list"),
    path("audit/export/", apis.EventExportApi.as_view(), name="audit-export"),
    path("audit/exports/", apis.ExportJobListApi.as_view(), name="audit-export-job-list"),
    path("audit/exports/<uuid:job_id>/", apis.ExportJobDetailApi.as_view(), name="audit-export-job-detail"),
    path("audit/exports/<uuid:job_id>/download/", apis.ExportJobDownloadApi.as_view(), name="audit-export-job-file"),
    path("audit/checkpoints/", apis.CheckpointListApi.as_view(), name="audit-checkpoint-list"),
    path("audit/public-key/", apis.PublicKeyApi.as_view(), name="audit-public-key"),
]
