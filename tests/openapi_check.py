"""Every API response a test receives is checked against the served OpenAPI schema with openapi-core.

tests/conftest.py wraps Django's test client (which DRF's APIClient extends) for the whole session: each answer
from /api/v1/ is validated as an outside client generated from the schema would read it — status code documented,
content type documented, body matching its schema, documented headers present. A mismatch fails the test that
made the request, naming the operation. Requests are not validated: tests send bad input on purpose.

Nothing here depends on how the caller authenticated, so any authentication class the API adopts is covered.
"""

from __future__ import annotations

import threading
from functools import cache

from django.http import HttpResponse
from django.test import Client
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

PREFIX = "/api/v1/"
SKIPPED_PATHS = ("/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/")  # the schema and its viewers, not the API

_state = threading.local()


@cache
def openapi() -> OpenAPI:
    """The schema as /api/v1/schema/ serves it, generated once per session."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenAPI.from_dict(_plain(schema))


def _plain(value):
    """drf-spectacular leaves lazy strings and tuples in its dict; openapi-core wants plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def problems() -> list[str]:
    return getattr(_state, "problems", None) if getattr(_state, "problems", None) is not None else []


def start() -> None:
    _state.problems = []
    _state.checked = 0


def checked() -> int:
    return getattr(_state, "checked", 0)


def validate(response) -> None:
    request = getattr(response, "wsgi_request", None)
    if request is None or not request.path.startswith(PREFIX) or request.path.startswith(SKIPPED_PATHS):
        return
    if getattr(response, "streaming", False):
        _validate_when_read(request, response)
    else:
        _validate(request, response)


def _validate_when_read(request, response) -> None:
    """A streamed body (an export) is checked once the test has read it all: reading it here would run the
    export early (it audits itself when the stream ends), and a test that stops early reads no more than it did."""
    original, chunks = response.streaming_content, []

    def passing_through():
        for chunk in original:
            chunks.append(chunk)
            yield chunk
        whole = HttpResponse(b"".join(chunks), status=response.status_code)
        for name, value in response.items():
            whole[name] = value
        _validate(request, whole)

    response.streaming_content = passing_through()


def _validate(request, response) -> None:
    try:
        openapi().validate_response(_RequestWithoutBody(request), DjangoOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        return  # no such operation (an unknown path, or a method the endpoint does not have): nothing to check
    except Exception as exc:  # openapi-core's validation errors, with their causes
        cause = exc.__cause__ or exc.__context__
        details = getattr(cause, "schema_errors", None) or ([cause] if cause else [])
        said = "; ".join(str(getattr(e, "message", e))[:300] for e in details)
        body = response.content[:300]
        if getattr(_state, "problems", None) is not None:
            _state.problems.append(
                f"{request.method} {request.get_full_path()} -> {response.status_code} "
                f"{response.get('Content-Type', '')}: {exc.__class__.__name__}: {exc} {said} body={body!r}"
            )
        return
    _state.checked = getattr(_state, "checked", 0) + 1


class _RequestWithoutBody(DjangoOpenAPIRequest):
    """Only responses are checked, so the request body is never read (Django refuses to read one past its size
    limit, which is what a 413 test sends)."""

    @property
    def body(self) -> bytes:
        return b""


_original_request = Client.request


def _checked_request(self, **request):
    response = _original_request(self, **request)
    validate(response)
    return response


def install() -> None:
    Client.request = _checked_request
