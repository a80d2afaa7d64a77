from django.urls import path

from . import apis

urlpatterns = [
    path("agencies/", apis.AgencyListApi.as_view(), name="api-agency-list"),
    path("agencies/<str:code>/", apis.AgencyDetailApi.as_view(), name="api-agency-detail"),
    path("agencies/<str:code>/members/", apis.AgencyMembersApi.as_view(), name="api-agency-members"),
    path("agencies/<str:code>/invitations/", apis.AgencyInvitationsApi.as_view(), name="api-agency-invitations"),
    path("datasets/", apis.DatasetListApi.as_view(), name="api-dataset-list"),
    path("datasets/<str:code>/", apis.DatasetDetailApi.as_view(), name="api-dataset-detail"),
]
