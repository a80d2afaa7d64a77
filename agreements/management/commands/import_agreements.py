from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.importer import ImportFailed, import_agreements
from common import context

SERVICE_ACCOUNT = "import_agreements"


class Command(BaseCommand):
    help = (
        "Import agreements from a CSV register, one row per flow (see docs/import.md). They arrive as drafts. "
        "Nothing is imported if any row is bad, unless --skip-bad."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8).")
        parser.add_argument("--skip-bad", action="store_true", help="Leave out bad agreements; import the rest.")
        parser.add_argument(
            "--user", help="Record this existing user as the drafter. By default, a sign-in-less service account "
                           f"named '{SERVICE_ACCOUNT}'."
        )

    def handle(self, *args: Any, file: str, skip_bad: bool = False, user: str | None = None,
               **options: Any) -> None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError as exc:
            raise CommandError(f"There is no file at {file}.") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text. Save the spreadsheet as 'CSV UTF-8' and try again.") from exc
        User = get_user_model()
        if user:
            try:
                actor = User.objects.get(username=user)
            except User.DoesNotExist as exc:
                raise CommandError(f"There is no user called {user!r}.") from exc
        else:
            actor, created = User.objects.get_or_create(username=SERVICE_ACCOUNT, defaults={"is_active": False})
            if created:
                actor.set_unusable_password()
                actor.save(update_fields=["password"])
        with context.system("import_agreements"):
            try:
                report = import_agreements(text=text, actor=actor, source=path.name, skip_bad=skip_bad)
            except ImportFailed as exc:
                for problem in exc.report.problems:
                    self.stderr.write(problem)
                raise CommandError(
                    f"Nothing was imported: {len(exc.report.problems)} problem(s) in {path.name}. Fix them, or run "
                    "again with --skip-bad to import the good agreements only."
                ) from exc
        for key, reference in report.imported:
            self.stdout.write(f"Imported {key} as {reference} (draft)")
        for problem in report.problems:
            self.stderr.write(problem)
        if report.skipped:
            self.stdout.write(f"Skipped {len(report.skipped)} agreement(s) with problems: {', '.join(report.skipped)}")
        self.stdout.write(f"{len(report.imported)} agreement(s) imported as drafts.")
