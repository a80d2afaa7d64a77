from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView

from . import api_docs, health, oidc, views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("agreements.api.urls")),  # first: it starts with the check, the busiest request
    path("schema/", api_docs.SchemaApi.as_view(), name="schema"),
    path("docs/", api_docs.SwaggerDocs.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", RedirectView.as_view(pattern_name="api-docs", permanent=True), name="api-redoc"),
    path("", include("agencies.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("notifications.api_urls")),
]

handler404 = "sharing_registry.views.not_found"  # JSON for the API, the GOV.UK page for people

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    # Signing out needs a POST; a GET (an old bookmark, a typed URL) gets a page with the button, not a 405.
    path("accounts/login/", views.sign_in, name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("accounts/", include("accounts.urls")),  # password reset and change as GOV.UK pages, audited
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/authenticate/", oidc.SignInRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.SignInCallbackView.as_view(), name="oidc_authentication_callback"),
    path("public/", views.public_register, name="public-register"),
    path("public/map/", views.sharing_map, name="sharing-map"),
    path("admin/", admin.site.urls),
    path("", views.dashboard, name="dashboard"),
    path("", include("tokens.urls")),
    path("", include("agencies.urls")),
    path("", include("agreements.urls")),
    path("", include("audit.urls")),
    path("", include("notifications.urls")),
]
