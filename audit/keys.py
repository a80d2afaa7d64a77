"""The Ed25519 key that signs audit checkpoints. It lives outside the database.

`AUDIT_SIGNING_KEY` holds the private key: base64 of the raw 32-byte key, or a PKCS#8 PEM. Without it, a
development key is generated into `AUDIT_SIGNING_KEY_FILE` (git-ignored) with a warning, but only where
`AUDIT_SIGNING_KEY_GENERATE` is on (never without DEBUG; `make run`'s .env turns it on); anywhere else, signing
fails with a clear error.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

MISSING_KEY = (
    "AUDIT_SIGNING_KEY is not set, so audit checkpoints cannot be signed. Generate one with "
    "`python -c \"import base64,os; print(base64.b64encode(os.urandom(32)).decode())\"` and keep it outside "
    "the database (see docs/audit.md)."
)


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    source: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id_for(self.public_raw)

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()


def key_id_for(public_raw: bytes) -> str:
    """The first 16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def parse_private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be an Ed25519 key.")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be base64 of 32 bytes, or a PEM private key.") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY must decode to 32 bytes, not {len(raw)}.")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _development_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        encoded = base64.b64encode(os.urandom(32)).decode()
        try:
            # O_EXCL: two processes starting together keep one key, never two.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(encoded + "\n")
    for _ in range(50):  # the other process may still be writing it
        text = path.read_text().strip()
        if text:
            return parse_private_key(text)
    raise ImproperlyConfigured(f"The development audit signing key file {path} is empty.")


@functools.lru_cache(maxsize=4)
def _load(configured: str, generate: bool, path: str) -> SigningKey:
    if configured:
        return SigningKey(parse_private_key(configured), "AUDIT_SIGNING_KEY")
    if not generate:
        raise ImproperlyConfigured(MISSING_KEY)
    logger.warning(
        "audit checkpoints are signed with a development key from %s; set AUDIT_SIGNING_KEY in production", path
    )
    return SigningKey(_development_key(Path(path)), path)


def signing_key() -> SigningKey:
    """The configured key (cached per process). Raises ImproperlyConfigured when there is none."""
    return _load(
        settings.AUDIT_SIGNING_KEY,
        bool(getattr(settings, "AUDIT_SIGNING_KEY_GENERATE", settings.DEBUG)),
        str(settings.AUDIT_SIGNING_KEY_FILE),
    )


def public_key_pem(key: SigningKey) -> str:
    return key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_key_base64(key: SigningKey) -> str:
    return base64.b64encode(key.public_raw).decode()
