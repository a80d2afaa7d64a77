"""python manage.py verify_audit: recompute the hash chain and check every signed checkpoint."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import verification_run


class Command(BaseCommand):
    help = "Seal pending audit events, recompute the hash chain and check every signed checkpoint."

    def handle(self, *args, **options):
        result = verification_run()
        if not result.ok:
            raise CommandError(f"audit log check FAILED at seq {result.first_bad_seq}: {result.message}")
        self.stdout.write(f"OK {result.events} events")
        if options["verbosity"] > 1:
            self.stderr.write(f"checked in {result.seconds:.2f} s")
