"""The product's URLs, plus one bare endpoint that the HTTP benchmark uses as its baseline."""

from django.urls import include, path

from bench.baseline import BaselineApi

urlpatterns = [
    path("bench/baseline/", BaselineApi.as_view()),
    path("", include("sharing_registry.urls")),
]
