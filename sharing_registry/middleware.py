"""Request plumbing: a request id on every request, the audit context, and one log line per request."""

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers
from whitenoise.middleware import WhiteNoiseMiddleware

from agreements.services import access_denied_record
from common import context

logger = logging.getLogger("sharing_registry.request")


def _client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; behind NUM_PROXIES trusted proxies, the address the outermost of them saw (as DRF's rate
    limits count it). The left of X-Forwarded-For is whatever the client wrote, so the audit log never takes it."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    """Gives each request a UUID (or keeps a well-formed X-Request-ID) and logs it when the response leaves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get("X-Request-ID", "")
        try:
            request_id = str(uuid.UUID(incoming))
        except ValueError:
            request_id = str(uuid.uuid4())
        request.__dict__["request_id"] = request_id
        started = time.perf_counter()
        with context.bind(request_id=request_id, client_ip=_client_ip(request), actor=None, system_actor=""):
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user": user.get_username() if user is not None and user.is_authenticated else None,
                },
            )
        return response


class ActorContextMiddleware:
    """Puts the signed-in user into the audit context (DRF token users are set by the API layer)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            context.set_actor(request.user)
        return self.get_response(request)


class AccessDeniedAuditMiddleware:
    """Records every refusal a signed-in user meets, through the pages or the API, as `access.denied`: a 403, and a
    404 on an agreement's reference (a probe for one that exists but is not theirs looks exactly like a miss, and
    both are recorded). Placed after authentication, so DRF's token users are seen too (DRF sets request.user)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if response.status_code not in (403, 404) or user is None or not user.is_authenticated:
            return response
        match = getattr(request, "resolver_match", None)
        reference = (match.kwargs.get("reference") if match else None) or ""
        if response.status_code == 404 and not reference:
            return response
        try:
            access_denied_record(actor=user, method=request.method or "", path=request.path,
                                 status=response.status_code, reference=str(reference))
        except DatabaseError:  # the refusal stands whether or not it could be written
            logger.exception("could not record a refused request")
        return response


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, also serving GOV.UK Frontend's fonts and images at /assets/, where its compiled CSS asks for them.

    Served here, before the session middleware, so a font request never touches (or races over) a session.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if settings.WHITENOISE_USE_FINDERS:
            # Development serves from the finders, but WhiteNoise still warns when STATIC_ROOT does not exist.
            Path(settings.STATIC_ROOT).mkdir(exist_ok=True)
        super().__init__(*args, **kwargs)
        assets = settings.GOVUK_FRONTEND_DIST / "govuk" / "assets"
        if assets.is_dir():
            self.add_files(str(assets), prefix="assets/")


class NulInPathMiddleware:
    """A path holding a NUL character names nothing (and PostgreSQL refuses NUL in a query): 404 at once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path:
            raise Http404("No such page")  # sharing_registry.views.not_found: JSON under /api/
        return self.get_response(request)


class NotFoundPageMiddleware:
    """The GOV.UK 404 page even with DEBUG on (the embedded default), where Django would show its technical page,
    which lists every URL pattern. With DEBUG off, `handler404` already does this. Sits above CommonMiddleware,
    so a missing slash is still redirected first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            from .views import not_found  # views import this module's neighbours; import late

            return not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        if settings.DEBUG and isinstance(exception, Http404):
            from .views import not_found

            return not_found(request, exception)
        return None


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer to a signed-in person or an authenticated API caller, so that no
    browser cache, shared proxy or back button keeps a page or a body that was meant for them alone.

    Authenticated means a user on the request (a session, or any DRF authentication class, which sets it on the
    Django request too) or credentials sent in the Authorization header, whatever the answer to them was."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            add_never_cache_headers(response)  # Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private
        return response
