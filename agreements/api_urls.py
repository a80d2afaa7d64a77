from django.urls import path

from . import apis, check_apis

urlpatterns = [
    path("legal-bases/", apis.LegalBasisListApi.as_view(), name="api-legal-basis-list"),
    path("legal-bases/<str:code>/", apis.LegalBasisDetailApi.as_view(), name="api-legal-basis-detail"),
    path("agreements/", apis.AgreementListCreateApi.as_view(), name="api-agreement-list"),
    path("agreements/<str:reference>/", apis.AgreementDetailApi.as_view(), name="api-agreement-detail"),
    path("agreements/<str:reference>/submit/", apis.AgreementSubmitApi.as_view(), name="api-agreement-submit"),
    path("agreements/<str:reference>/approve/", apis.AgreementApproveApi.as_view(), name="api-agreement-approve"),
    path("agreements/<str:reference>/reject/", apis.AgreementRejectApi.as_view(), name="api-agreement-reject"),
    path("agreements/<str:reference>/suspend/", apis.AgreementSuspendApi.as_view(), name="api-agreement-suspend"),
    path("agreements/<str:reference>/reinstate/", apis.AgreementReinstateApi.as_view(), name="api-agreement-reinstate"),
    path("agreements/<str:reference>/revoke/", apis.AgreementRevokeApi.as_view(), name="api-agreement-revoke"),
    path("agreements/<str:reference>/amend/", apis.AgreementAmendApi.as_view(), name="api-agreement-amend"),
    path("agreements/<str:reference>/withdraw/", apis.AgreementWithdrawApi.as_view(), name="api-agreement-withdraw"),
    path("agreements/<str:reference>/request-changes/", apis.AgreementRequestChangesApi.as_view(),
         name="api-agreement-request-changes"),
    path("agreements/<str:reference>/review/", apis.AgreementReviewApi.as_view(), name="api-agreement-review"),
    path("agreements/<str:reference>/copy/", apis.AgreementCopyApi.as_view(), name="api-agreement-copy"),
    path("agreements/<str:reference>/versions/", apis.VersionListApi.as_view(), name="api-agreement-versions"),
    path("agreements/<str:reference>/versions/<int:number>/compare/", apis.VersionCompareApi.as_view(),
         name="api-agreement-version-compare"),
    path("agreements/<str:reference>/versions/<int:number>/comments/", apis.VersionCommentListApi.as_view(),
         name="api-agreement-version-comments"),
    path("checks/", check_apis.CheckApi.as_view(), name="api-check"),
]
