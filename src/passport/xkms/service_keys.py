"""The key and certificate that sign every XKMS result, kept in the Passport home."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from passport.config import DEFAULT_SERVICE_KEY_BITS, check_service_key_bits

SERVICE_CERT_DAYS = 3 * 365


def service_key_paths(home: Path) -> tuple[Path, Path]:
    """(key, certificate) paths of the service signing key in the home."""
    folder = home / "xkms"
    return folder / "service-key.pem", folder / "service-cert.pem"


def data_key_path(home: Path) -> Path:
    """The data key that seals passcode-derived keys and escrowed private keys."""
    return home / "xkms" / "data.key"


@dataclass(frozen=True)
class ServiceKey:
    """The signing key and its certificate chain (signer first)."""

    private_key: rsa.RSAPrivateKey
    certificates: tuple[x509.Certificate, ...]


class ServiceKeyError(Exception):
    """The service key is missing or unreadable; the message says what to do."""


def create_service_key(
    home: Path,
    *,
    bits: int = DEFAULT_SERVICE_KEY_BITS,
    common_name: str = "Passport XKMS service",
) -> bool:
    """Write a new RSA key (0600) and a self-signed certificate unless they exist."""
    check_service_key_bits(bits)
    key_path, cert_path = service_key_paths(home)
    return create_self_signed(
        key_path,
        cert_path,
        common_name=common_name,
        key_bits=bits,
        days=SERVICE_CERT_DAYS,
        usage=key_usage("digital_signature", "content_commitment"),
    )


def create_self_signed(
    key_path: Path,
    cert_path: Path,
    *,
    common_name: str,
    key_bits: int,
    days: int,
    usage: x509.KeyUsage,
    ca: bool = False,
) -> bool:
    """Write a new RSA key (0600) and a self-signed certificate for it (critical basic
    constraints and key usage; a CA's also names its key) unless both files exist."""
    if key_path.exists() and cert_path.exists():
        return False
    key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(usage, critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False
        )
    certificate = builder.sign(private_key, hashes.SHA256())
    write_key_and_certificate(key_path, cert_path, private_key, certificate)
    return True


def key_usage(*allowed: str) -> x509.KeyUsage:
    """A KeyUsage extension allowing exactly the named uses (e.g. "key_cert_sign")."""
    flags = {
        flag: flag in allowed
        for flag in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        )
    }
    if set(allowed) - set(flags):
        raise ValueError(f"unknown key usages: {sorted(set(allowed) - set(flags))}")
    return x509.KeyUsage(**flags)


def write_key_and_certificate(
    key_path: Path, cert_path: Path, private_key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """The key as PKCS#8 PEM (created 0600, never readable by others) and its certificate."""
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def load_service_key(home: Path) -> ServiceKey:
    """The service key from the home; ServiceKeyError when missing or malformed."""
    key_path, cert_path = service_key_paths(home)
    try:
        private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificates = tuple(x509.load_pem_x509_certificates(cert_path.read_bytes()))
    except FileNotFoundError as exc:
        raise ServiceKeyError(
            f"the XKMS service key {exc.filename} is missing: run `passport init`"
        ) from None
    except ValueError as exc:
        raise ServiceKeyError(f"the XKMS service key cannot be read: {exc}") from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ServiceKeyError("the XKMS service key must be an RSA key")
    return ServiceKey(private_key, certificates)
