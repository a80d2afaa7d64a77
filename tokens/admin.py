"""The Django admin's view of API tokens: names, owners and use, never keys (only a digest is stored, and it is
not shown either). Tokens are made on the agency's tokens page or with `drf_create_token`, not here."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "agency", "user", "created", "expiry", "last_used_at")
    list_select_related = ("agency", "user")
    fields = ("name", "agency", "user", "created", "expiry", "last_used_at")
    readonly_fields = fields
    search_fields = ("name", "user__username", "agency__code")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        from . import services

        services.token_revoke(actor=request.user if request.user.is_authenticated else None, token=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        from . import services

        for token in queryset.select_related("agency", "user"):
            services.token_revoke(actor=request.user if request.user.is_authenticated else None, token=token)
