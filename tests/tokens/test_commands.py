"""`drf_create_token <username>` (the contract) makes a hashed, expiring token and prints its key once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.factories import UserFactory
from tokens.models import ApiToken


@pytest.mark.django_db
class DrfCreateTokenTests:
    def test_prints_a_working_key_that_is_stored_only_as_a_hash(self):
        UserFactory(username="ada")
        out = StringIO()
        call_command("drf_create_token", "ada", stdout=out, stderr=StringIO())
        line = out.getvalue().strip()
        assert line.startswith("Generated token ") and line.endswith(" for user ada")
        key = line.split()[2]
        token = ApiToken.objects.get()
        assert key not in (token.digest, token.token_key)
        assert APIClient().get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
        assert AuditEvent.objects.filter(action="token.created", object_ref=str(token.pk)).exists()

    def test_reset_revokes_the_old_ones(self):
        UserFactory(username="ada")
        call_command("drf_create_token", "ada", stdout=StringIO(), stderr=StringIO())
        out = StringIO()
        call_command("drf_create_token", "ada", "--reset", stdout=out, stderr=StringIO())
        assert ApiToken.objects.count() == 1
        assert AuditEvent.objects.filter(action="token.revoked").count() == 1

    def test_an_unknown_user_is_a_clear_error(self):
        with pytest.raises(CommandError, match="user nobody does not exist"):
            call_command("drf_create_token", "nobody", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db(transaction=True)
class CarryOverTests:
    def test_raw_drf_tokens_become_hashed_ones_and_the_raw_table_goes(self):
        """A database from before hashed tokens: its systems keep working, and no raw key is left behind."""
        import importlib

        from django.apps import apps
        from django.db import connection

        carry_over = importlib.import_module("tokens.migrations.0002_carry_over_drf_tokens").carry_over
        user = UserFactory(username="old-system")
        old_key = "0123456789abcdef0123456789abcdef01234567"
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, "
                           "created timestamp with time zone)" if connection.vendor == "postgresql" else
                           "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, "
                           "created datetime)")
            cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, CURRENT_TIMESTAMP)", [old_key, user.pk])
        with connection.schema_editor() as editor:
            carry_over(apps, editor)
        assert "authtoken_token" not in connection.introspection.table_names()
        token = ApiToken.objects.get(user=user)
        assert old_key not in (token.digest, token.token_key) and token.expiry is not None
        assert APIClient().get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {old_key}").status_code == 200
