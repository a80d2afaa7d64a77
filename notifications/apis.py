"""The notifications API: the signed-in user's own notices, and marking one read (../shared/CONTRACT.md)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.types import AuthenticatedRequest

from .choices import NotificationKind
from .models import Notification
from .selectors import notification_list
from .services import notification_mark_read


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    subject = serializers.CharField()
    body = serializers.CharField()
    object_type = serializers.CharField(help_text="What it is about: `agreement`.")
    object_ref = serializers.CharField(help_text="Its reference, e.g. ISA-2026-0042.")
    link = serializers.CharField(help_text="The page on this site it is about (a path).")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    unread = serializers.SerializerMethodField()
    emailed = serializers.SerializerMethodField()

    def get_unread(self, notice: Notification) -> bool:
        return notice.read_at is None

    def get_emailed(self, notice: Notification) -> bool:
        return notice.emailed_at is not None


class UnreadFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False)


@extend_schema_view(get=extend_schema(
    summary="Your notifications",
    description="The signed-in user's own notices, newest first. `?unread=1` lists only those not yet read.",
    parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread notices.")],
))
class NotificationListApi(generics.ListAPIView):
    request: AuthenticatedRequest  # let in only signed in (permission_classes)
    serializer_class = NotificationOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Notification]:
        filters = UnreadFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return notification_list(user=self.request.user, unread=filters.validated_data["unread"])


@extend_schema_view(post=extend_schema(
    summary="Mark a notification read",
    request=None,
    responses={200: NotificationOutputSerializer, 404: {"description": "No such notification of yours."}},
    description="Only your own: another person's notification id gives 404. Marking it again is harmless.",
))
class NotificationReadApi(APIView):
    serializer_class = NotificationOutputSerializer

    def post(self, request: AuthenticatedRequest, notification_id: int) -> Response:
        notice = notification_mark_read(user=request.user, notification_id=notification_id)
        return Response(NotificationOutputSerializer(notice).data)
