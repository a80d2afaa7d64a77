"""The Django admin for people: no groups or per-user permissions here.

A role in an agency is a membership, given and taken away on that agency's Members page (or its API), where
separation of duties applies and every change is audited. So the admin shows neither the agency-role groups
nor a user's groups and permissions. What it still edits (names, email, active, staff and superuser flags,
passwords) is audited by accounts/signals.py.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from .models import Profile

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
