from django.urls import path

from . import apis

urlpatterns = [
    path("legal-bases/", apis.LegalBasisListApi.as_view(), name="api-legal-basis-list"),
]
