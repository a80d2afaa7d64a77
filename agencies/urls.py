from django.urls import path

from . import views

urlpatterns = [
    path("agencies/", views.agency_list, name="agency-list"),
    path("agencies/new/", views.agency_create, name="agency-create"),
    path("agencies/<str:code>/", views.agency_detail, name="agency-detail"),
    path("agencies/<str:code>/edit/", views.agency_edit, name="agency-edit"),
    path("agencies/<str:code>/datasets/new/", views.dataset_create, name="dataset-create"),
    path("agencies/<str:code>/members/", views.agency_members, name="agency-members"),
    path("agencies/<str:code>/members/remove/", views.agency_member_remove, name="agency-member-remove"),
    path("agencies/<str:code>/members/leave/", views.agency_member_leave, name="agency-member-leave"),
    path("agencies/<str:code>/members/change-role/", views.agency_member_change_role, name="agency-member-change-role"),
    path("agencies/<str:code>/invitations/new/", views.invitation_create, name="invitation-create"),
    path("agencies/<str:code>/invitations/<str:pk>/resend/", views.invitation_resend, name="invitation-resend"),
    path("agencies/<str:code>/invitations/<str:pk>/cancel/", views.invitation_cancel, name="invitation-cancel"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("datasets/<str:code>/", views.dataset_detail, name="dataset-detail"),
    path("datasets/<str:code>/edit/", views.dataset_edit, name="dataset-edit"),
]
