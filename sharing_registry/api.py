"""API plumbing shared by every app: pagination and the one exception handler.

Status codes follow docs/api.md: 400 bad input, 401 not signed in, 403 not yours,
404 not visible, 409 wrong lifecycle state. Nothing reaches the client as an HTML 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from common.errors import Conflict

if TYPE_CHECKING:  # DRF's settings load this module while rest_framework.views is still importing
    from django.core.paginator import Paginator
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """The page and page_size parameters, with the bounds the API enforces."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": self.max_page_size}
                parameter["description"] = f"Results per page, at most {self.max_page_size} (default {self.page_size})."
        return parameters

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        """A page that is not a whole number from 1 is bad input (400); a page past the last stays a 404."""
        number = super().get_page_number(request, paginator)
        if number in self.last_page_strings:
            return number
        if not str(number).isdigit() or int(number) < 1:
            raise exceptions.ValidationError({self.page_query_param: ["Give the page as a whole number from 1."]})
        return number


def _too_large() -> str:
    return f"The request is too large. Send at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024) or 1} MB."


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


_SURROGATE = re.compile("[\ud800-\udfff]")
JSON_MAX_DEPTH = 32  # arrays and objects inside one another; the deepest body the API takes is 4 levels


def _body_problem(data: Any) -> str | None:
    """Why a parsed JSON body cannot be taken: nested past JSON_MAX_DEPTH, or holding a lone surrogate (\\ud800),
    which JSON may escape but no database can keep. Walks the body with a stack, not recursion, so that no depth
    of nesting can exhaust Python's stack."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return "The request holds text that is not valid Unicode (a lone surrogate)."
        elif isinstance(value, dict | list):
            if depth >= JSON_MAX_DEPTH:
                return f"The JSON is nested too deeply: at most {JSON_MAX_DEPTH} levels of arrays and objects."
            items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
            for key, item in items:
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
    return None


class BoundedJSONParser(JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads the stream itself, past Django's own check), nested
    at most JSON_MAX_DEPTH levels, and only text that can be stored."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if limit is not None and length > limit:
            raise RequestTooLarge(_too_large())
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # Python's JSON decoder gives up on nesting deeper than its own stack allows
            raise exceptions.ParseError(
                f"The JSON is nested too deeply: at most {JSON_MAX_DEPTH} levels of arrays and objects."
            ) from None
        problem = _body_problem(data)
        if problem:
            raise exceptions.ParseError(problem)
        return data


def _validation_detail(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: [str(m) for e in errors for m in e.messages] for field, errors in error.error_dict.items()}
    return {"non_field_errors": error.messages}


def _refusal(exc: Exception) -> dict[str, str]:
    """A lifecycle refusal: the message, and its stable code where the lifecycle gave one (agreements/lifecycle.py)."""
    body = {"detail": str(exc)}
    code = getattr(exc, "code", None)
    if code:
        body["code"] = str(code)
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, Conflict):
        return Response(_refusal(exc), status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, DjangoPermissionDenied) and getattr(exc, "code", None):
        return Response(_refusal(exc), status=status.HTTP_403_FORBIDDEN)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):  # Django's own limit, met when DRF reads request.body
        exc = RequestTooLarge(_too_large())
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    # Imported here, not at the top: REST_FRAMEWORK names this module's parser and pagination, and
    # rest_framework.views reads those settings as it loads, so a top-level import is circular whenever this
    # module happens to be loaded first (as a Celery worker's start-up checks do).
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, DatabaseError):
        logger.exception("database error in API request")
        return Response(
            {"detail": "The registry could not reach its database. Nothing was saved. Please try again."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    logger.exception("unhandled error in API request")
    return Response(
        {"detail": "Something went wrong on our side. Nothing was saved."},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
