from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agencies.choices import Role
from agencies.models import Agency
from agencies.services import membership_grant
from audit import context


class Command(BaseCommand):
    help = "Create the user if absent and give them a role in an agency (audited as membership.granted)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("agency_code")
        parser.add_argument("role", help=", ".join(Role.values))

    def handle(self, *args, username, agency_code, role, **options):
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}. Choose one of: {', '.join(Role.values)}.")
        try:
            agency = Agency.objects.get(code=agency_code)
        except Agency.DoesNotExist as exc:
            raise CommandError(f"No agency has the code {agency_code!r}.") from exc
        # The new user and their role commit together, or neither does.
        with transaction.atomic(), context.system("command:add_member"):
            user, created = get_user_model().objects.get_or_create(username=username)
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            granted = membership_grant(agency=agency, user=user, role=role)
        verb = "now has" if granted else "already had"
        self.stdout.write(f"{username} {verb} the role {role} in {agency.code}" + (" (new user)" if created else ""))
