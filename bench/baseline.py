"""The baseline for the check over HTTP: a bare DRF endpoint, token-authenticated like the API (the project's
default authentication and permission classes), doing one indexed SELECT (an agency by its unique code)."""

from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency


class BaselineApi(APIView):
    def get(self, request):
        row = Agency.objects.filter(code=request.query_params.get("code", "")).values("code", "name").first()
        return Response(row or {})
