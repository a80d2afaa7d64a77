from django.urls import path

from . import apis, check_apis

urlpatterns = [
    path("legal-bases/", apis.LegalBasisListApi.as_view(), name="api-legal-basis-list"),
    path("checks/", check_apis.CheckApi.as_view(), name="api-check"),
]
