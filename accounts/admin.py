"""The Django admin for people: no groups or per-user permissions here.

A role in an agency is a membership, given and taken away on that agency's Members page (or its API), where
separation of duties applies and every change is audited. So the admin shows neither the agency-role groups
nor a user's groups and permissions. What it still edits (names, email, active, staff and superuser flags,
passwords) is audited by accounts/signals.py. The registry-admin role (add and change agencies) is given and taken
away by superusers only, with the two actions on the list of people (or `manage.py registry_admin`).
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest

from common.types import User

from . import services
from .models import Profile
from .selectors import REGISTRY_ADMIN_GROUP

admin.site.unregister(Group)
admin.site.unregister(get_user_model())


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("full_name", "job_title")


@admin.register(get_user_model())
class PersonAdmin(UserAdmin):
    inlines = (ProfileInline,)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {
            "fields": ("is_active", "is_staff", "is_superuser"),
            "description": "Roles in agencies are given on each agency's Members page, not here.",
        }),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    list_filter = ("is_staff", "is_superuser", "is_active")
    filter_horizontal = ()

    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser",
                    "registry_admin")
    actions = ("grant_registry_admin", "revoke_registry_admin")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        from django.db.models import Exists, OuterRef

        through = self.model.groups.through
        held = through.objects.filter(user=OuterRef("pk"), group__name=REGISTRY_ADMIN_GROUP)
        return super().get_queryset(request).annotate(holds_registry_admin=Exists(held))

    @admin.display(boolean=True, description="Registry administrator", ordering="holds_registry_admin")
    def registry_admin(self, obj: User) -> bool:
        return getattr(obj, "holds_registry_admin", False)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str] | tuple[str, ...]:
        # Staff who may change people cannot make anyone (themselves included) staff or a superuser.
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, "is_staff", "is_superuser")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.is_superuser:  # only superusers give or take away the role
            actions.pop("grant_registry_admin", None)
            actions.pop("revoke_registry_admin", None)
        return actions

    def _change_registry_admin(self, request: HttpRequest, queryset: QuerySet[User], grant: bool) -> None:
        change = services.registry_admin_grant if grant else services.registry_admin_revoke
        actor = request.user if request.user.is_authenticated else None  # the admin site lets in only staff
        changed = [user.get_username() for user in queryset if change(actor=actor, user=user)]
        verb = "are now registry administrators" if grant else "are no longer registry administrators"
        if changed:
            self.message_user(request, f"{', '.join(changed)} {verb}.", messages.SUCCESS)
        else:
            self.message_user(request, "Nothing changed.", messages.INFO)

    @admin.action(description="Make registry administrator (add and change agencies)")
    def grant_registry_admin(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._change_registry_admin(request, queryset, grant=True)

    @admin.action(description="Take away registry administrator")
    def revoke_registry_admin(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._change_registry_admin(request, queryset, grant=False)
