from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies.models import Agency
from agreements import demo
from common import context


class Command(BaseCommand):
    help = "Load a demo region: agencies, datasets, agreements in every state, and one user per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any agency exists already.")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and Agency.objects.exists():
            self.stdout.write("The database already holds agencies; demo data not loaded.")
            return
        codes = [row[0] for row in demo.AGENCIES]
        if Agency.objects.filter(code__in=codes).exists():
            raise CommandError("Demo agencies are already loaded. Use a fresh database to load them again.")
        with context.system("seed_demo"):
            loaded, agreements = demo.load_demo()
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {len(loaded.agencies)} agencies, {len(demo.DATASETS)} datasets and {len(agreements)} agreements."
        ))
        for agreement in agreements:
            self.stdout.write(f"  {agreement.reference}  {agreement.status:<9}  {agreement.current_version.title}")
        self.stdout.write("")
        self.stdout.write(f"Sign in at {settings.SITE_URL}/accounts/login/ with any of these users.")
        self.stdout.write(f"Every demo user has the password: {demo.DEMO_PASSWORD}")
        self.stdout.write("  admin                   superuser")
        for _code, prefix, name, *_ in demo.AGENCIES:
            names = ", ".join(f"{prefix}-{suffix}" for suffix in demo.ROLE_SUFFIX.values())
            self.stdout.write(f"  {names}, {prefix}-officer2   ({name})")
        self.stdout.write("Roles: -officer and -officer2 are governance officers; -frontline, -auditor and -admin "
                          "(agency admin) as named.")
        self.stdout.write("For the API: python manage.py drf_create_token <username>, then send "
                          "'Authorization: Token <key>'.")
