"""Self-signed TLS certificate and key for `passport init`, written with `cryptography`.

The key is ECDSA P-256 in PKCS#8 PEM (granian reads only PKCS#8), created with mode 0600
and never overwritten. The certificate names `localhost`, 127.0.0.1 and ::1.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_MODE = 0o600
CERTIFICATE_MODE = 0o644
CERTIFICATE_DAYS = 365
# A certificate made a moment ago must already be valid on a machine whose clock is a
# little behind this one.
CLOCK_SKEW = timedelta(minutes=5)
DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")


class TLSError(Exception):
    """A TLS file cannot be read or written as asked; the message says which and why."""


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a certificate is for and how long it is valid."""

    names: tuple[str, ...]
    not_after: datetime


def write_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Create a new key at `path` (mode 0600, PKCS#8 PEM); refuse if the file exists."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    _write_new_file(path, pem, KEY_MODE)
    return key


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read an ECDSA key written by `write_private_key` (or any unencrypted EC PEM key)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise TLSError(f"TLS key {path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TLSError(f"TLS key {path} is not an ECDSA key; give your own certificate for it")
    return key


def write_self_signed_certificate(
    path: Path, key: ec.EllipticCurvePrivateKey, *, days: int = CERTIFICATE_DAYS
) -> CertificateInfo:
    """Write a self-signed server certificate for localhost, 127.0.0.1 and ::1 to `path`."""
    now = datetime.now(UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Passport (self-signed)"),
        ]
    )
    alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in DNS_NAMES]
    alternative_names.extend(
        x509.IPAddress(ipaddress.ip_address(address)) for address in IP_ADDRESSES
    )
    public_key = key.public_key()
    not_after = now + timedelta(days=days)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    _write_new_file(path, certificate.public_bytes(serialization.Encoding.PEM), CERTIFICATE_MODE)
    return CertificateInfo(names=(*DNS_NAMES, *IP_ADDRESSES), not_after=not_after)


def _write_new_file(path: Path, content: bytes, mode: int) -> None:
    # O_EXCL: an existing key or certificate is never replaced, even by a concurrent init.
    # The mode is set at creation, so the key is never readable by others, not even briefly.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise TLSError(f"{path} already exists; it is left as it is") from exc
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    # The process umask may have narrowed the mode; set exactly what was asked.
    os.chmod(path, mode)
