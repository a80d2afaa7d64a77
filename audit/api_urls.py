from django.urls import path

from . import apis

urlpatterns = [
    path("audit/events/", apis.EventListApi.as_view(), name="audit-event-list"),
    path("audit/export/", apis.EventExportApi.as_view(), name="audit-export"),
    path("audit/checkpoints/", apis.CheckpointListApi.as_view(), name="audit-checkpoint-list"),
    path("audit/public-key/", apis.PublicKeyApi.as_view(), name="audit-public-key"),
]
