"""Sealing small secrets at rest with the data key in the Passport home (AES-256-GCM)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATA_KEY_BYTES = 32
_NONCE_BYTES = 12
_VERSION = b"\x01"


class VaultError(Exception):
    """The data key is missing or a sealed value does not open with it."""


def create_data_key(path: Path) -> bool:
    """Write a new random data key (mode 0600) unless one exists; True when written."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secrets.token_bytes(DATA_KEY_BYTES))
    return True


class Vault:
    """Seals and opens values with one AES-256-GCM key; `purpose` binds a value to its use."""

    def __init__(self, key: bytes) -> None:
        if len(key) != DATA_KEY_BYTES:
            raise VaultError(f"the data key must be {DATA_KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path) -> Vault:
        """The vault of the data key file; VaultError when it is missing or malformed."""
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise VaultError(
                f"cannot read the XKMS data key {path}: {exc.strerror}; run `passport init`"
            ) from None
        return cls(key)

    def seal(self, value: bytes, purpose: str) -> str:
        """The value encrypted and authenticated, as text for a database column."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value, purpose.encode())
        return base64.b64encode(_VERSION + nonce + sealed).decode("ascii")

    def open(self, sealed: str, purpose: str) -> bytes:
        """The value a `seal` call made for the same purpose; VaultError otherwise."""
        try:
            raw = base64.b64decode(sealed, validate=True)
            if raw[:1] != _VERSION:
                raise VaultError("unknown sealed-value version")
            nonce, body = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
            return self._aead.decrypt(nonce, body, purpose.encode())
        except (InvalidTag, ValueError) as exc:
            raise VaultError("a sealed value does not open with this data key") from exc
