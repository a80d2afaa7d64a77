from django.urls import path

from . import views

urlpatterns = [
    # The frontline check first: it is the API's busiest request by far, and Django tries each pattern in turn.
    path("checks/", views.CheckApi.as_view(), name="api-check"),
    path("legal-bases/", views.LegalBasisListApi.as_view(), name="api-legal-basis-list"),
    path("legal-bases/<str:code>/", views.LegalBasisDetailApi.as_view(), name="api-legal-basis-detail"),
    path("agreements/", views.AgreementListCreateApi.as_view(), name="api-agreement-list"),
    path("agreements/<str:reference>/", views.AgreementDetailApi.as_view(), name="api-agreement-detail"),
    path("agreements/<str:reference>/submit/", views.AgreementSubmitApi.as_view(), name="api-agreement-submit"),
    path("agreements/<str:reference>/approve/", views.AgreementApproveApi.as_view(), name="api-agreement-approve"),
    path("agreements/<str:reference>/reject/", views.AgreementRejectApi.as_view(), name="api-agreement-reject"),
    path("agreements/<str:reference>/suspend/", views.AgreementSuspendApi.as_view(), name="api-agreement-suspend"),
    path("agreements/<str:reference>/reinstate/", views.AgreementReinstateApi.as_view(),
         name="api-agreement-reinstate"),
    path("agreements/<str:reference>/revoke/", views.AgreementRevokeApi.as_view(), name="api-agreement-revoke"),
    path("agreements/<str:reference>/amend/", views.AgreementAmendApi.as_view(), name="api-agreement-amend"),
    path("agreements/<str:reference>/withdraw/", views.AgreementWithdrawApi.as_view(), name="api-agreement-withdraw"),
    path("agreements/<str:reference>/request-changes/", views.AgreementRequestChangesApi.as_view(),
         name="api-agreement-request-changes"),
    path("agreements/<str:reference>/review/", views.AgreementReviewApi.as_view(), name="api-agreement-review"),
    path("agreements/<str:reference>/copy/", views.AgreementCopyApi.as_view(), name="api-agreement-copy"),
    path("agreements/<str:reference>/versions/", views.VersionListApi.as_view(), name="api-agreement-versions"),
    path("agreements/<str:reference>/versions/<int:number>/compare/", views.VersionCompareApi.as_view(),
         name="api-agreement-version-compare"),
    path("agreements/<str:reference>/versions/<int:number>/comments/", views.VersionCommentListApi.as_view(),
         name="api-agreement-version-comments"),
]
