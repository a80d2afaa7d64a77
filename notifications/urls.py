from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.inbox, name="notification-inbox"),
    path("notifications/read/", views.mark_all_read, name="notification-read-all"),
    path("notifications/settings/", views.email_settings, name="notification-settings"),
    path("notifications/<int:notification_id>/read/", views.mark_read, name="notification-read"),
]
