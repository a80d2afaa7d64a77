from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from agreements.reminders import review_reminder_send, review_reminders_due
from common import context


class Command(BaseCommand):
    help = ("Email governance officers about reviews due in 90, 30 or 0 days, each threshold once only "
            "(what the daily scheduled task does; useful without a broker, or to catch up).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="Treat this date (YYYY-MM-DD) as today.")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        if options["today"]:
            try:
                today = date.fromisoformat(options["today"])
            except ValueError as bad:
                raise CommandError("Give --today as a date, for example 2026-11-24.") from bad
        sent = 0
        with context.system("send_review_reminders"):
            for version_id, days_before in review_reminders_due(today=today):
                if review_reminder_send(version_id=version_id, days_before=days_before, today=today):
                    sent += 1
        self.stdout.write(f"{sent} review reminder(s) sent.")
