from django.urls import path

from . import check_views, views

urlpatterns = [
    path("check/", check_views.check_page, name="check"),
    path("agreements/<str:reference>/print/", views.agreement_print, name="agreement-print"),
]
