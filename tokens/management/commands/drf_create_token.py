"""`manage.py drf_create_token <username>` (the name the contract keeps): make a hashed API token and print its
key once, as DRF's command did: "Generated token <key> for user <username>"."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies.models import Agency
from tokens import services
from tokens.choices import RevokeReason
from tokens.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a user and print its key (shown only this once; only a hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("-r", "--reset", action="store_true", dest="reset_token",
                            help="Revoke the user's existing tokens first.")
        parser.add_argument("--name", default="Created on the command line", help="What the token is for.")
        parser.add_argument("--days", type=int, default=None, help="Days until it expires (API_TOKEN_DAYS).")
        parser.add_argument("--agency", default=None, help="Code of the agency whose system uses it (optional).")

    def handle(self, *args: Any, username: str, reset_token: bool, name: str, days: int | None, agency: str | None,
               **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"Cannot create the Token: user {username} does not exist") from None
        agency_obj = None
        if agency:
            agency_obj = Agency.objects.filter(code=agency).first()
            if agency_obj is None:
                raise CommandError(f"No agency has the code {agency}")
        if reset_token:
            for token in ApiToken.objects.filter(user=user).select_related("agency", "user"):
                services.token_revoke(actor=None, token=token, reason=RevokeReason.REVOKED)
        try:
            token, key = services.token_create(actor=None, user=user, name=name, agency=agency_obj, days=days)
        except ValidationError as error:
            raise CommandError(" ".join(m for ms in error.message_dict.values() for m in ms)) from None
        self.stdout.write(f"Generated token {key} for user {username}")
        self.stderr.write(f"It expires on {token.expiry:%Y-%m-%d}. Keep it now: it cannot be shown again.")
