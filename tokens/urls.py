from django.urls import path

from . import views

urlpatterns = [
    path("agencies/<str:code>/tokens/", views.agency_tokens, name="agency-tokens"),
    path("agencies/<str:code>/tokens/<int:token_id>/revoke/", views.agency_token_revoke, name="agency-token-revoke"),
]
