"""Tokens: hashed at rest, expiring, revoked by hand, by a password change and by a deactivation; each audited."""

from datetime import timedelta

import pytest
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.factories import PASSWORD
from tokens import services
from tokens.choices import RevokeReason
from tokens.models import ApiToken

API = "/api/v1/legal-bases/"


def call(key: str):
    return APIClient().get(API, HTTP_AUTHORIZATION=f"Token {key}")


def all_stored_text() -> str:
    """Every value of every row of the token table, read straight from the database."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 - a model's own table name
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


@pytest.mark.django_db
class TokenCreateTests:
    def test_the_key_works_and_its_creation_is_audited(self, council, people):
        token, key = services.token_create(actor=people["admin"], user=people["admin"], name="Case system",
                                           agency=council)
        assert call(key).status_code == 200
        event = AuditEvent.objects.get(action="token.created")
        assert (event.actor_name, event.agency_code, event.object_ref) == ("home-admin", "home-council", str(token.pk))
        assert event.detail["name"] == "Case system"
        assert key not in str(event.detail)

    def test_hashed_at_rest_the_database_holds_no_usable_key(self, council, people):
        _, key = services.token_create(actor=people["admin"], user=people["admin"], name="Case system",
                                       agency=council)
        stored = all_stored_text()
        assert key not in stored
        row = ApiToken.objects.get()
        assert len(row.digest) == 128 and row.digest != key
        # Nothing that is stored lets anyone in: not the digest, not the stored prefix, not the row as found.
        for candidate in (row.digest, row.digest[:64], row.token_key, row.token_key.ljust(64, "0")):
            assert call(candidate).status_code == 401
        assert call(key).status_code == 200

    def test_every_token_expires_and_an_expired_one_is_refused(self, council, people, settings):
        token, key = services.token_create(actor=people["admin"], user=people["admin"], name="Portal", agency=council)
        assert token.expiry - timezone.now() > timedelta(days=settings.API_TOKEN_DAYS - 1)
        ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
        response = call(key)
        assert response.status_code == 401
        assert "expired" in response.json()["detail"]

    def test_no_token_outlives_the_longest_expiry(self, council, people, settings):
        with pytest.raises(ValidationError) as error:
            services.token_create(actor=people["admin"], user=people["admin"], name="Forever", agency=council,
                                  days=settings.API_TOKEN_MAX_DAYS + 1)
        assert "days" in error.value.message_dict
        assert not ApiToken.objects.exists()

    def test_a_token_needs_a_name(self, council, people):
        with pytest.raises(ValidationError) as error:
            services.token_create(actor=people["admin"], user=people["admin"], name="  ", agency=council)
        assert error.value.message_dict["name"] == ["Enter a name for the token, such as the system that will use it"]

    def test_only_the_agencys_administrators_create_its_tokens(self, council, people):
        for who in ("officer", "other_admin"):
            with pytest.raises(PermissionDenied):
                services.token_create(actor=people[who], user=people[who], name="Sneaky", agency=council)
        assert not ApiToken.objects.exists()
        assert not AuditEvent.objects.filter(action="token.created").exists()


@pytest.mark.django_db
class TokenRevokeTests:
    def test_a_revoked_token_is_refused_at_once_and_audited(self, council, people):
        token, key = services.token_create(actor=people["admin"], user=people["admin"], name="Portal", agency=council)
        services.token_revoke(actor=people["second_admin"], token=token)
        assert call(key).status_code == 401
        event = AuditEvent.objects.get(action="token.revoked")
        assert (event.actor_name, event.agency_code) == ("home-admin-2", "home-council")
        assert event.detail["reason"] == RevokeReason.REVOKED

    def test_another_agencys_admin_cannot_revoke(self, council, people):
        token, key = services.token_create(actor=people["admin"], user=people["admin"], name="Portal", agency=council)
        with pytest.raises(PermissionDenied):
            services.token_revoke(actor=people["other_admin"], token=token)
        assert call(key).status_code == 200

    def test_a_password_change_revokes_the_persons_tokens(self, council, people):
        admin = people["admin"]
        _, key = services.token_create(actor=admin, user=admin, name="Portal", agency=council)
        _, other_key = services.token_create(actor=people["second_admin"], user=people["second_admin"],
                                             name="Other", agency=council)
        form = PasswordChangeForm(admin, {"old_password": PASSWORD, "new_password1": "a-new-long-passphrase-42",
                                          "new_password2": "a-new-long-passphrase-42"})
        assert form.is_valid(), form.errors
        form.save()
        assert call(key).status_code == 401
        assert call(other_key).status_code == 200  # someone else's token is untouched
        event = AuditEvent.objects.get(action="token.revoked")
        assert event.detail["reason"] == RevokeReason.PASSWORD_CHANGED
        assert event.agency_code == "home-council"

    def test_a_password_reset_revokes_them_too(self, council, people):
        admin = people["admin"]
        _, key = services.token_create(actor=admin, user=admin, name="Portal", agency=council)
        form = SetPasswordForm(admin, {"new_password1": "a-new-long-passphrase-42",
                                       "new_password2": "a-new-long-passphrase-42"})
        assert form.is_valid(), form.errors
        form.save()
        assert call(key).status_code == 401

    def test_switching_an_account_off_revokes_its_tokens_whatever_the_path(self, council, people):
        admin = people["admin"]
        _, key = services.token_create(actor=admin, user=admin, name="Portal", agency=council)
        admin.is_active = False
        admin.save()  # as the Django admin's "Active" box does
        assert not ApiToken.objects.exists()
        assert AuditEvent.objects.get(action="token.revoked").detail["reason"] == RevokeReason.USER_DEACTIVATED
        admin.is_active = True
        admin.save()
        assert call(key).status_code == 401  # switching back on does not bring the token back

    def test_the_leaver_flow_calls_one_function(self, council, people):
        admin = people["admin"]
        for name in ("Portal", "Case system"):
            services.token_create(actor=admin, user=admin, name=name, agency=council)
        assert services.tokens_revoke_for_user(user=admin) == 2
        assert services.tokens_revoke_for_user(user=admin) == 0
        assert AuditEvent.objects.filter(action="token.revoked").count() == 2

    def test_deleting_a_user_records_their_tokens_revoked(self, council, people):
        officer = people["officer"]
        services.token_create(actor=None, user=officer, name="Script", agency=None)
        officer.delete()
        assert AuditEvent.objects.get(action="token.revoked").detail["reason"] == RevokeReason.USER_DELETED
