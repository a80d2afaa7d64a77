from django.urls import path

from . import views

urlpatterns = [
    path("agencies/", views.agency_list, name="agency-list"),
    path("agencies/<str:code>/", views.agency_detail, name="agency-detail"),
    path("agencies/<str:code>/members/", views.agency_members, name="agency-members"),
    path("agencies/<str:code>/members/remove/", views.agency_member_remove, name="agency-member-remove"),
    path("datasets/<str:code>/", views.dataset_detail, name="dataset-detail"),
]
