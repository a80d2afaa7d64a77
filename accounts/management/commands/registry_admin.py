"""`manage.py registry_admin grant|revoke <username>` and `registry_admin list`: the registry-admin role, which adds
and changes agencies without being a superuser. Whoever runs manage.py already holds the database; the grant is
recorded as `permission.granted` (or `permission.revoked`) by this command."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import selectors, services
from common import context


class Command(BaseCommand):
    help = "Give, take away or list the registry-admin role (add and change agencies, nothing more)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["grant", "revoke", "list"])
        parser.add_argument("username", nargs="?")

    def handle(self, *args: Any, action: str, username: str | None, **options: Any) -> None:
        if action == "list":
            for admin in selectors.registry_admins():
                self.stdout.write(admin.get_username())
            return
        if not username:
            raise CommandError(f"Give the username: registry_admin {action} <username>")
        user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user has the username {username!r}.")
        with context.system("command:registry_admin"):
            if action == "grant":
                changed = services.registry_admin_grant(actor=None, user=user)
                self.stdout.write(f"{username} is now a registry administrator" if changed
                                  else f"{username} was already a registry administrator")
            else:
                changed = services.registry_admin_revoke(actor=None, user=user)
                self.stdout.write(f"{username} is no longer a registry administrator" if changed
                                  else f"{username} was not a registry administrator")
