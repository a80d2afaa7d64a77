from django.urls import path

from . import apis

urlpatterns = [
    path("notifications/", apis.NotificationListApi.as_view(), name="api-notification-list"),
    path("notifications/<int:notification_id>/read/", apis.NotificationReadApi.as_view(),
         name="api-notification-read"),
]
