"""The schema and the API's documentation page, served by the app itself (drf-spectacular-sidecar), not a CDN.

Swagger UI is drf-spectacular's split view: its set-up script is a separate file from this origin, so the page
keeps the site's Content-Security-Policy (scripts and styles from 'self' only). Redoc is not served: its bundle
always fetches its vendor's logo from a CDN and writes inline styles as it loads, so /api/v1/redoc/ sends people
to Swagger UI, which reads the same schema. `?format=json` or `?format=yaml` picks the schema's encoding (the API
turns DRF's own ?format= override off, since the audit export owns that name).
"""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class SchemaApi(SpectacularAPIView):
    """The OpenAPI schema: YAML by default; JSON for `?format=json` or `Accept: application/vnd.oai.openapi+json`."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        wanted = request.query_params.get("format")
        if wanted:
            for renderer in self.get_renderers():
                if renderer.format == wanted:
                    return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)


class SwaggerDocs(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
