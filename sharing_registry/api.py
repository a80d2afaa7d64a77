"""API plumbing shared by every app: pagination and the one exception handler.

Status codes follow ../shared/CONTRACT.md: 400 bad input, 401 not signed in, 403 not yours,
404 not visible, 409 wrong lifecycle state. Nothing reaches the client as an HTML 500.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audit.errors import Conflict

logger = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _validation_detail(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        return {field: [str(m) for e in errors for m in e.messages] for field, errors in error.error_dict.items()}
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

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
