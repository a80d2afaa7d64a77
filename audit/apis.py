"""The auditors' API: events, the streamed export, signed checkpoints and the public key that checks them."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from typing import Any, cast

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common import context
from common.pagination import CountedPaginator
from common.types import AuthenticatedRequest

from . import export, keys
from .chain import canonical_at
from .choices import AuditAction
from .export_jobs import export_job_download, export_job_get, export_job_list, export_job_request
from .fields import printable
from .models import AuditCheckpoint, AuditEvent, ExportJob
from .selectors import EventFilters, audited_agencies, checkpoint_list, event_count, event_list, is_auditor
from .services import record


class IsAuditor(permissions.BasePermission):
    message = "Only auditors and superusers may read the audit log."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_auditor(user=request.user)


AUDITOR_PERMISSIONS = [permissions.IsAuthenticated, IsAuditor]


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeField(serializers.Field):
    """Accepts 2026-11-24 or 2026-11-24T10:00:00Z. A date means its start (for `since`) or its end (for `until`)."""

    default_error_messages = {"invalid": "Enter a date (2026-11-24) or a date and time (2026-11-24T10:00:00Z)."}

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dt.date:
        text = str(data).strip()
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                if self.end_of_day:
                    day += dt.timedelta(days=1)  # the day after 9999-12-31 does not exist: OverflowError
                moment = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
                moment.astimezone(dt.UTC)
                return moment
            if "T" in text:
                text = text.replace(" ", "+")  # an unencoded "+01:00" arrives as " 01:00"
            value = dt.datetime.fromisoformat(text)
            value = value if timezone.is_aware(value) else timezone.make_aware(value)
            value.astimezone(dt.UTC)  # year 1 or 9999 with an offset falls off the calendar in UTC
        except (ValueError, OverflowError):
            self.fail("invalid")
        return value

    def to_representation(self, value: Any) -> str:
        return value.isoformat()


class EventFilterSerializer(serializers.Serializer):
    since = DateOrDateTimeField(required=False, help_text="Events at or after this date or time.")
    until = DateOrDateTimeField(required=False, end_of_day=True,
                                help_text="Events before this time; a date includes that whole day.")
    agency = serializers.SlugField(required=False, max_length=64, help_text="Agency code.")
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    actor = serializers.CharField(required=False, max_length=150, help_text="Username, or a system actor's name.")
    object_type = serializers.CharField(required=False, max_length=64)
    object_ref = serializers.CharField(required=False, max_length=128)

    def validate_agency(self, value: str) -> str:
        request = self.context.get("request")
        if request is not None and value not in dict(audited_agencies(user=request.user)):
            raise serializers.ValidationError(f"You do not audit an agency with the code “{value}”.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["The end of the range must be after its start."]})
        return attrs


class ExportFilterSerializer(EventFilterSerializer):
    format = serializers.ChoiceField(choices=[("csv", "CSV"), ("jsonl", "JSON Lines")], default="csv")


def _filters(serializer_class: type[serializers.Serializer], request: Request) -> tuple[EventFilters, dict]:
    serializer = serializer_class(data=request.query_params, context={"request": request})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return EventFilters(**{key: value for key, value in data.items() if key != "format"}), data


class _PrintableJSONField(serializers.JSONField):
    def to_representation(self, value: Any) -> Any:
        return printable(value)


class EventOutputSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    at = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor_name")
    agency = serializers.CharField(source="agency_code")
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_ref = serializers.CharField()
    detail = _PrintableJSONField()
    hash = serializers.SerializerMethodField()
    prev_hash = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    request_id = serializers.CharField()
    agencies = serializers.ListField(
        child=serializers.CharField(),
        help_text="Every agency the event concerns: an auditor of any of them sees it.")

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_at(self, event: AuditEvent) -> str:
        return canonical_at(event.at)

    def get_hash(self, event: AuditEvent) -> str | None:
        return _sealed(event, "hash")

    def get_prev_hash(self, event: AuditEvent) -> str | None:
        return _sealed(event, "prev_hash")

    def get_position(self, event: AuditEvent) -> int | None:
        return _sealed(event, "position")


def _sealed(event: AuditEvent, field: str) -> Any:
    """A field of the event's seal, or None while the event is not yet sealed into the chain."""
    seal = getattr(event, "seal", None)
    return getattr(seal, field) if seal else None


@extend_schema(parameters=[EventFilterSerializer])
class EventListApi(generics.ListAPIView):
    """Audit events of the agencies you audit (all of them for a superuser), oldest first.

    `hash` and `prev_hash` are null until the event is sealed into the chain (within seconds). The search
    itself is recorded as an `audit.viewed` event.
    """

    request: AuthenticatedRequest  # let in only signed in (permission_classes)
    permission_classes = AUDITOR_PERMISSIONS
    serializer_class = EventOutputSerializer
    filter_backends: list = []

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters, _ = _filters(EventFilterSerializer, request)
        user = self.request.user
        paginator = cast(PageNumberPagination, self.paginator)
        # DRF only calls django_paginator_class: a partial does as well as the class the stubs ask for.
        paginator.django_paginator_class = functools.partial(  # type: ignore[assignment]
            CountedPaginator, count=lambda cap: event_count(user=user, filters=filters, cap=cap))
        page = self.paginate_queryset(event_list(user=user, filters=filters))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        record(action=AuditAction.AUDIT_VIEWED, object_type="audit_log", object_ref="events", actor=user,
               detail={"filters": filters.as_detail(), "count": response.data["count"], "via": "api"})
        return response


class _PassthroughRenderer(BaseRenderer):
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> Any:
        return data


class CSVRenderer(_PassthroughRenderer):
    media_type, format = "text/csv", "csv"


class JSONLinesRenderer(_PassthroughRenderer):
    media_type, format = "application/x-ndjson", "jsonl"


def _content_type(kind: str) -> str:
    """The Content-Type of an export file in `kind` (csv or jsonl)."""
    return "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson; charset=utf-8"


@extend_schema(
    parameters=[ExportFilterSerializer],
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="A header row, then one event a row."),
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY, description="One JSON event a line."),
        400: OpenApiResponse(description="A filter was not understood."),
    },
)
class EventExportApi(APIView):
    """Stream the events you may read as CSV or JSON Lines, with constant memory however many rows match.

    The export is recorded as `audit.exported` with its filters and row count once the stream ends. JSON Lines
    carry every hashed field, so a segment can be checked offline with scripts/verify_audit_export.py.
    """

    permission_classes = AUDITOR_PERMISSIONS
    renderer_classes = [JSONRenderer, CSVRenderer, JSONLinesRenderer]

    def get(self, request: AuthenticatedRequest) -> HttpResponseBase:
        filters, data = _filters(ExportFilterSerializer, request)
        kind = data["format"]
        events = event_list(user=request.user, filters=filters)
        counter = [0]
        lines = export.csv_lines(events, counter) if kind == "csv" else export.jsonl_lines(events, counter)
        ctx = context.current()
        user = request.user

        def finished(rows: int, complete: bool) -> None:
            # The response streams after the view returns, outside the request's context: restore it.
            with context.bind(actor=user, request_id=ctx.request_id, client_ip=ctx.client_ip):
                record(action=AuditAction.AUDIT_EXPORTED, object_type="audit_log", object_ref=kind,
                       detail={"format": kind, "filters": filters.as_detail(), "rows": rows, "complete": complete})

        response = StreamingHttpResponse(
            export.stream(lines, finished, counter),
            content_type=_content_type(kind),
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
        response["X-Accel-Buffering"] = "no"
        return response


class CheckpointOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    head_seq = serializers.IntegerField()
    head_hash = serializers.CharField()
    seq_high = serializers.IntegerField()
    created_at = serializers.SerializerMethodField()
    key_id = serializers.CharField()
    signature = serializers.CharField()
    prev_position = serializers.IntegerField(help_text="The position of the checkpoint this one covers (0: none).")
    prev_hash = serializers.CharField(help_text="The hash of the checkpoint this one covers ('' on v1 checkpoints).")
    hash = serializers.CharField(help_text="SHA-256 of this checkpoint's signed message.")

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_created_at(self, checkpoint: AuditCheckpoint) -> str:
        return canonical_at(checkpoint.created_at)


class CheckpointFilterSerializer(serializers.Serializer):
    position_from = serializers.IntegerField(required=False, min_value=0)
    position_to = serializers.IntegerField(required=False, min_value=0)


@extend_schema(parameters=[CheckpointFilterSerializer])
class CheckpointListApi(generics.ListAPIView):
    """Signed checkpoints of the chain head, in chain order, for checking an export offline."""

    permission_classes = AUDITOR_PERMISSIONS
    serializer_class = CheckpointOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[AuditCheckpoint]:
        serializer = CheckpointFilterSerializer(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return checkpoint_list(**serializer.validated_data)


class PublicKeyOutputSerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    key_id = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the raw 32-byte Ed25519 public key.")
    public_key_pem = serializers.CharField()


class PublicKeyApi(APIView):
    """The public half of the checkpoint signing key."""

    permission_classes = AUDITOR_PERMISSIONS

    @extend_schema(responses=PublicKeyOutputSerializer)
    def get(self, request: AuthenticatedRequest) -> Response:
        key = keys.signing_key()
        return Response(PublicKeyOutputSerializer({
            "algorithm": "Ed25519", "key_id": key.key_id, "public_key": keys.public_key_base64(key),
            "public_key_pem": keys.public_key_pem(key),
        }).data)


# --- background exports (an addition to the contract) ----------------------------------------------------------


class ExportJobRequestSerializer(ExportFilterSerializer):
    pass  # a background export takes the streamed export's filters and format (no docstring: it would be in the schema)


class ExportJobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    format = serializers.CharField()
    filters = serializers.JSONField()
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    download = serializers.SerializerMethodField()

    def get_download(self, job: ExportJob) -> str | None:
        if job.status != "finished":
            return None
        url = reverse("audit-export-job-file", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ExportJobListApi(generics.ListAPIView):
    """Your background exports, newest first; POST asks for a new one.

    A POST takes the same filters as `audit/export/` and answers 202 with the job: a worker writes the file,
    `rows_done` counts up, and `download` is set once `status` is `finished`. The request, the finished file and
    each download are audited (`audit.export_requested`, `audit.export_finished`, `audit.exported`).
    """
    request: AuthenticatedRequest  # let in only signed in (permission_classes)

    permission_classes = AUDITOR_PERMISSIONS
    serializer_class = ExportJobOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[ExportJob]:
        return export_job_list(user=self.request.user)

    @extend_schema(request=ExportJobRequestSerializer, responses={202: ExportJobOutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = ExportJobRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        fmt = data.pop("format")
        job = export_job_request(user=request.user, filters=EventFilters(**data), fmt=fmt, via="api")
        job.refresh_from_db()
        return Response(ExportJobOutputSerializer(job, context={"request": request}).data, status=202)


class ExportJobDetailApi(APIView):
    """One of your background exports (a superuser may read anyone's); anyone else gets 404."""

    permission_classes = AUDITOR_PERMISSIONS

    @extend_schema(responses=ExportJobOutputSerializer)
    def get(self, request: AuthenticatedRequest, job_id: uuid.UUID) -> Response:
        job = export_job_get(user=request.user, job_id=job_id)
        return Response(ExportJobOutputSerializer(job, context={"request": request}).data)


@extend_schema(
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The finished CSV file."),
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY,
                                                       description="The finished JSON Lines file."),
        404: OpenApiResponse(description="No export of yours has that id."),
        409: OpenApiResponse(description="The export has not finished, failed, or its file has expired."),
    },
)
class ExportJobDownloadApi(APIView):
    """Download a finished background export. Each download is recorded as `audit.exported`."""

    permission_classes = AUDITOR_PERMISSIONS
    renderer_classes = [JSONRenderer, CSVRenderer, JSONLinesRenderer]

    def get(self, request: AuthenticatedRequest, job_id: uuid.UUID) -> HttpResponseBase:
        job = export_job_get(user=request.user, job_id=job_id)
        handle, name = export_job_download(user=request.user, job=job)
        return FileResponse(handle, as_attachment=True, filename=name, content_type=_content_type(job.format))
