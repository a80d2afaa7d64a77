from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from agreements.services import agreement_expire_due
from common import context


class Command(BaseCommand):
    help = "Expire active or suspended agreements whose end date has passed (what the scheduled task does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="Treat this date (YYYY-MM-DD) as today. For testing and catch-up runs.")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        if options["today"]:
            from datetime import date

            today = date.fromisoformat(options["today"])
        with context.system("expire_agreements"):
            expired = agreement_expire_due(today=today)
        for reference in expired:
            self.stdout.write(f"Expired {reference}")
        self.stdout.write(f"{len(expired)} agreement(s) expired.")
