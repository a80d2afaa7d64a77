from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.services import user_create, user_profile_update, user_reactivate
from agencies.choices import Role
from agencies.models import Agency
from agencies.selectors import user_by_username
from agencies.services import membership_grant
from common import context


class Command(BaseCommand):
    help = (
        "Create the user if absent and give them a role in an agency. Audited as user.created (a new user) and "
        "membership.granted. A new user has no usable password until an administrator sets one; to bring a person "
        "in with a password of their own, invite them from the agency's Members page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("agency_code")
        parser.add_argument("role", help=", ".join(Role.values))
        parser.add_argument("--email", default=None, help="Their email address (a new user's, or to update).")
        parser.add_argument("--name", default=None, help='Their full name, e.g. --name "Asha Patel".')
        parser.add_argument("--job-title", default=None, help="Their job title.")
        parser.add_argument("--reactivate", action="store_true",
                            help="Switch a switched-off account back on (it is never done without this). Old sessions "
                            "stay ended: the person signs in again.")

    def handle(self, *args: Any, username: str, agency_code: str, role: str, email: str | None, name: str | None,
               job_title: str | None, reactivate: bool = False, **options: Any) -> None:
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}. Choose one of: {', '.join(Role.values)}.")
        try:
            agency = Agency.objects.get(code=agency_code)
        except Agency.DoesNotExist as exc:
            raise CommandError(f"No agency has the code {agency_code!r}.") from exc
        # The new user and their role commit together, or neither does.
        try:
            with transaction.atomic(), context.system("command:add_member"):
                user = user_by_username(username=username)
                created = user is None
                if user is None:
                    user = user_create(username=username, email=email or "", full_name=name or "",
                                       job_title=job_title or "", how="command:add_member",
                                       agencies=[agency.code])
                else:
                    if email is not None and email != user.email:
                        user.email = email
                        user.save(update_fields=["email"])  # audited as user.updated (accounts.signals)
                    if name is not None or job_title is not None:
                        user_profile_update(user=user, full_name=name, job_title=job_title)
                revived = False
                if not user.is_active:
                    if not reactivate:
                        raise CommandError(f"{username}'s account is switched off. To give them a role and switch it "
                                           "back on, run the command again with --reactivate.")
                    revived = user_reactivate(user=user, reason=f"Given a role in {agency.code} again (add_member).",
                                              agencies=[agency.code])
                granted = membership_grant(agency=agency, user=user, role=role)
        except ValidationError as error:
            raise CommandError(" ".join(m for ms in error.message_dict.values() for m in ms)) from error
        verb = "now has" if granted else "already had"
        note = " (new user)" if created else " (account switched back on; they must sign in again)" if revived else ""
        self.stdout.write(f"{username} {verb} the role {role} in {agency.code}{note}")
