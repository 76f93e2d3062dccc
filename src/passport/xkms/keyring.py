"""Rotating the service signing key and the CA: the newest signs, older ones still count
until an administrator retires them.

The current key and certificate keep their names in `PASSPORT_HOME/xkms/`; a rotation
moves them to `xkms/previous/` under their certificate's serial number. Previous CA
certificates still validate the chains they issued (and sign their CRLs); previous
service certificates are still published beside the current one. Workers load the keys
when they start: restart them (one at a time) after a rotation.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from passport.config import DEFAULT_SERVICE_KEY_BITS, check_service_key_bits
from passport.xkms.ca import CertificateAuthority, ca_paths, create_ca
from passport.xkms.service_keys import create_service_key, service_key_paths

KINDS = ("service", "ca")


def previous_folder(home: Path) -> Path:
    """Where rotated keys wait until they are retired."""
    return home / "xkms" / "previous"


def _current(home: Path, kind: str) -> tuple[Path, Path]:
    return service_key_paths(home) if kind == "service" else ca_paths(home)


def _serial(certificate_path: Path) -> str:
    return format(x509.load_pem_x509_certificate(certificate_path.read_bytes()).serial_number, "x")


@dataclass(frozen=True)
class KeyEntry:
    """One key of the keyring."""

    kind: str
    serial: str
    subject: str
    not_after: str
    current: bool


def rotate(
    home: Path, kind: str, *, service_key_bits: int = DEFAULT_SERVICE_KEY_BITS
) -> tuple[str, str]:
    """Move the current key of `kind` aside and make a new one; (old serial, new serial)."""
    check_service_key_bits(service_key_bits)  # before anything is moved
    key_path, cert_path = _current(home, kind)
    old = _serial(cert_path)
    folder = previous_folder(home)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.move(key_path, folder / f"{kind}-{old}-key.pem")
    shutil.move(cert_path, folder / f"{kind}-{old}-cert.pem")
    if kind == "service":
        create_service_key(home, bits=service_key_bits)
    else:
        create_ca(home)
    return old, _serial(cert_path)


def retire(home: Path, serial: str) -> str:
    """Delete a previous key for good; returns its kind. FileNotFoundError if unknown."""
    for kind in KINDS:
        key = previous_folder(home) / f"{kind}-{serial.lower()}-key.pem"
        cert = previous_folder(home) / f"{kind}-{serial.lower()}-cert.pem"
        if cert.exists():
            key.unlink(missing_ok=True)
            cert.unlink()
            return kind
    raise FileNotFoundError(f"no previous key with serial {serial}")


def entries(home: Path) -> list[KeyEntry]:
    """Current and previous keys of both kinds."""
    found = []
    for kind in KINDS:
        paths = [(_current(home, kind)[1], True)]
        paths += [(p, False) for p in sorted(previous_folder(home).glob(f"{kind}-*-cert.pem"))]
        for path, current in paths:
            if not path.exists():
                continue
            certificate = x509.load_pem_x509_certificate(path.read_bytes())
            found.append(
                KeyEntry(
                    kind=kind,
                    serial=format(certificate.serial_number, "x"),
                    subject=certificate.subject.rfc4514_string(),
                    not_after=f"{certificate.not_valid_after_utc:%Y-%m-%d}",
                    current=current,
                )
            )
    return found


def previous_cas(home: Path) -> list[CertificateAuthority]:
    """CAs rotated out but not retired, newest first."""
    cas = []
    for cert_path in sorted(previous_folder(home).glob("ca-*-cert.pem"), reverse=True):
        key_path = cert_path.with_name(cert_path.name.replace("-cert.pem", "-key.pem"))
        cas.append(CertificateAuthority.from_files(key_path, cert_path))
    return sorted(cas, key=lambda ca: ca.certificate.not_valid_before_utc, reverse=True)


def published_certificates(home: Path) -> bytes:
    """Every certificate clients may meet: service signing certificates and CA
    certificates, current and previous (PEM)."""
    paths = [service_key_paths(home)[1], ca_paths(home)[1]]
    paths += sorted(previous_folder(home).glob("*-cert.pem"))
    return b"".join(path.read_bytes() for path in paths if path.exists())
