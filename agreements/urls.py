from django.urls import path

from . import check_views

urlpatterns = [
    path("check/", check_views.check_page, name="check"),
]
