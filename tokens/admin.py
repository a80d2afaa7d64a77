"""The Django admin's view of API tokens: names, owners and use, never keys (only a digest is stored, and it is
not shown either). Tokens are made on the agency's tokens page or with `drf_create_token`, not here."""

from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "agency", "user", "created", "expiry", "last_used_at")
    list_select_related = ("agency", "user")
    fields = ("name", "agency", "user", "created", "expiry", "last_used_at")
    readonly_fields = fields
    search_fields = ("name", "user__username", "agency__code")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj) -> None:
        from . import services

        services.token_revoke(actor=request.user, token=obj)

    def delete_queryset(self, request, queryset) -> None:
        from . import services

        for token in queryset.select_related("agency", "user"):
            services.token_revoke(actor=request.user, token=token)
