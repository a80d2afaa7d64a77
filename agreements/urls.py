from django.urls import path

from . import views

urlpatterns = [
    path("agreements/<str:reference>/print/", views.agreement_print, name="agreement-print"),
]
