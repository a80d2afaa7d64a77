"""python manage.py verify_audit: check the hash chain, every signed checkpoint and the witness, then sign."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import verification_run


class Command(BaseCommand):
    help = ("Recompute the hash chain, check every signed checkpoint against the witness (AUDIT_WITNESS_DIR), and "
            "only then seal pending audit events and sign the head.")

    def add_arguments(self, parser):
        parser.add_argument("--incremental", action="store_true",
                            help="start from the last checkpoint a successful run verified and the witness holds")

    def handle(self, *args, **options):
        result = verification_run(incremental=options["incremental"])
        if not result.ok:
            where = f" (position {result.first_bad_position})" if result.first_bad_position is not None else ""
            raise CommandError(f"audit log check FAILED at seq {result.first_bad_seq}{where}: {result.message}")
        self.stdout.write(f"OK {result.events} events")
        if options["verbosity"] > 1:
            self.stderr.write(f"{result.kind} check from position {result.from_position} in {result.seconds:.2f} s")
