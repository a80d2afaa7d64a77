"""python manage.py verify_audit: check the hash chain, every signed checkpoint and the witness, then sign."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from audit.roles import runtime_role_problems
from audit.services import verification_run


class Command(BaseCommand):
    help = ("Recompute the hash chain, check every signed checkpoint against the witness (AUDIT_WITNESS_DIR), and "
            "only then seal pending audit events and sign the head.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--incremental", action="store_true",
                            help="start from the last checkpoint a successful run verified and the witness holds")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            for problem in runtime_role_problems(connection):  # the log's protections are only as good as this
                self.stderr.write(f"warning: {problem}; run the application as a least-privileged role "
                                  "(docs/audit.md, Database roles)")
        result = verification_run(incremental=options["incremental"])
        if not result.ok:
            where = f" (position {result.first_bad_position})" if result.first_bad_position is not None else ""
            raise CommandError(f"audit log check FAILED at seq {result.first_bad_seq}{where}: {result.message}")
        self.stdout.write(f"OK {result.events} events")
        if options["verbosity"] > 1:
            self.stderr.write(f"{result.kind} check from position {result.from_position} in {result.seconds:.2f} s")
