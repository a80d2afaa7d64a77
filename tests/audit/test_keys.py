"""The checkpoint signing key: from the environment, or a development file only where DEBUG allowed it."""

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured

from audit import chain, keys
from audit.checks import signing_key_check
from audit.models import AuditCheckpoint

from .conftest import make_events

RAW = bytes(range(32))


@pytest.mark.django_db
class SigningKeyTests:
    def test_a_base64_key_from_the_environment_signs_checkpoints(self, settings):
        settings.AUDIT_SIGNING_KEY = base64.b64encode(RAW).decode()
        make_events(2)
        checkpoint = chain.seal_pending(force_checkpoint=True).checkpoint
        expected = Ed25519PrivateKey.from_private_bytes(RAW)
        assert checkpoint.key_id == keys.key_id_for(
            expected.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        assert chain.verify().ok

    def test_a_pem_key_is_accepted(self, settings):
        pem = Ed25519PrivateKey.from_private_bytes(RAW).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        settings.AUDIT_SIGNING_KEY = pem
        assert keys.signing_key().public_raw == keys.parse_private_key(base64.b64encode(RAW).decode()).public_key(
            ).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def test_without_a_key_and_without_debug_signing_fails_clearly(self, settings):
        settings.AUDIT_SIGNING_KEY = ""
        settings.AUDIT_SIGNING_KEY_GENERATE = False
        make_events(1)
        with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY is not set"):
            chain.seal_pending(force_checkpoint=True)
        assert not AuditCheckpoint.objects.exists()
        assert [error.id for error in signing_key_check(None)] == ["audit.E001"]

    def test_a_malformed_key_is_reported_by_the_system_check(self, settings):
        settings.AUDIT_SIGNING_KEY = "not-a-key"
        assert [error.id for error in signing_key_check(None)] == ["audit.E002"]

    def test_in_development_a_key_file_is_generated_once_with_a_warning(self, settings, tmp_path, caplog):
        settings.AUDIT_SIGNING_KEY = ""
        settings.AUDIT_SIGNING_KEY_GENERATE = True
        settings.AUDIT_SIGNING_KEY_FILE = tmp_path / ".audit_signing_key"
        key = keys.signing_key()
        assert settings.AUDIT_SIGNING_KEY_FILE.exists()
        assert oct(os.stat(settings.AUDIT_SIGNING_KEY_FILE).st_mode & 0o777) == "0o600"
        assert "development key" in caplog.text
        assert keys._development_key(settings.AUDIT_SIGNING_KEY_FILE).private_bytes_raw() == \
            key.private.private_bytes_raw()

    def test_checkpoints_from_a_retired_key_still_verify_after_rotation(self, settings):
        old = Ed25519PrivateKey.from_private_bytes(RAW)
        settings.AUDIT_SIGNING_KEY = base64.b64encode(RAW).decode()
        make_events(2)
        chain.seal_pending(force_checkpoint=True)
        settings.AUDIT_SIGNING_KEY = base64.b64encode(bytes(reversed(RAW))).decode()
        assert not chain.verify().ok  # the old checkpoint's key is unknown
        settings.AUDIT_RETIRED_PUBLIC_KEYS = [base64.b64encode(old.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()]
        assert chain.verify().ok
