"""Passport's own certificate authority: X.509 certificates for key bindings, and a CRL.

A certificate's subject and alternative names come from the binding's UseKeyWith values:
urn:ietf:rfc:2459 (PKIX) gives the distinguished name, urn:ietf:rfc:2633 and rfc822 give
e-mail addresses, TLS applications (rfc2246, rfc2818) give DNS names. Its validity is the
binding's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from passport.xkms import names
from passport.xkms.keys import PublicKey
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.service_keys import ServiceKeyError, create_self_signed, key_usage

CA_KEY_BITS = 3072
CA_DAYS = 10 * 365
CRL_DAYS = 7
PKIX = "urn:ietf:rfc:2459"
EMAIL_APPLICATIONS = frozenset({"urn:ietf:rfc:2633", "urn:ietf:rfc:822"})
TLS_APPLICATIONS = frozenset({"urn:ietf:rfc:2246", "urn:ietf:rfc:2818", "urn:ietf:rfc:2487"})
_ATTRIBUTES = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "DC": NameOID.DOMAIN_COMPONENT,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
}
_RDN = re.compile(
    r"""\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,+;]*?)\s*(?:[,+;]|\s(?=[A-Za-z]+\s*=)|$)"""
)
_HOSTNAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}")


def ca_paths(home: Path) -> tuple[Path, Path]:
    """(key, certificate) of Passport's CA in the home."""
    folder = home / "xkms"
    return folder / "ca-key.pem", folder / "ca-cert.pem"


def create_ca(home: Path, common_name: str = "Passport CA") -> bool:
    """Write a new CA key (0600) and self-signed CA certificate unless they exist."""
    key_path, cert_path = ca_paths(home)
    return create_self_signed(
        key_path,
        cert_path,
        common_name=common_name,
        key_bits=CA_KEY_BITS,
        days=CA_DAYS,
        usage=key_usage("key_cert_sign", "crl_sign"),
        ca=True,
    )


def parse_distinguished_name(text: str) -> x509.Name | None:
    """`CN=Alice,O=Alice Corp,C=US` or `C="US" O="Alice Corp" CN="Alice Aardvark"`; None
    when it names no attribute Passport knows."""
    attributes = []
    # RFC 4514 strings (commas) list the most specific attribute first: the reverse of the
    # DN's order. The space-separated form of the Recommendation's samples lists C first.
    pairs = _RDN.findall(text)
    if "," in text:
        pairs.reverse()
    for key, raw in pairs:
        oid = _ATTRIBUTES.get(key.upper())
        value = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw.strip()
        if oid is None or not value:
            return None
        attributes.append(x509.NameAttribute(oid, value))
    return x509.Name(attributes) if attributes else None


def _dns_name(identifier: str) -> str | None:
    host = urlsplit(identifier).hostname if "://" in identifier else identifier
    return host if host and _HOSTNAME.fullmatch(host) else None


@dataclass(frozen=True)
class Subject:
    """What a certificate says about its holder."""

    name: x509.Name
    emails: tuple[str, ...]
    dns_names: tuple[str, ...]


def subject_for(pairs: Iterable[UseKeyWith], owner: str) -> Subject:
    """The subject the UseKeyWith values describe (CN = the owner when no DN is given)."""
    name: x509.Name | None = None
    emails: list[str] = []
    dns_names: list[str] = []
    for pair in pairs:
        if pair.application == PKIX and name is None:
            name = parse_distinguished_name(pair.identifier)
        elif pair.application in EMAIL_APPLICATIONS and "@" in pair.identifier:
            emails.append(pair.identifier.removeprefix("mailto:"))
        elif pair.application in TLS_APPLICATIONS:
            dns = _dns_name(pair.identifier)
            if dns:
                dns_names.append(dns)
    if name is None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, owner)])
    return Subject(name, tuple(dict.fromkeys(emails)), tuple(dict.fromkeys(dns_names)))


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA key and certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def load(cls, home: Path) -> CertificateAuthority:
        """The current CA from the home; ServiceKeyError when missing or malformed."""
        return cls.from_files(*ca_paths(home))

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> CertificateAuthority:
        """A CA from its key and certificate files; ServiceKeyError when unreadable."""
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except FileNotFoundError as exc:
            raise ServiceKeyError(
                f"the XKMS CA {exc.filename} is missing: run `passport init`"
            ) from None
        except ValueError as exc:
            raise ServiceKeyError(f"the XKMS CA cannot be read: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ServiceKeyError("the XKMS CA key must be an RSA key")
        return cls(key, certificate)

    def issue(
        self,
        public_key: PublicKey,
        subject: Subject,
        usages: Sequence[str],
        not_before: datetime,
        not_after: datetime,
    ) -> x509.Certificate:
        """A certificate for the key, signed by the CA (times are naive UTC)."""
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject.name)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before.replace(tzinfo=UTC))
            .not_valid_after(
                min(not_after.replace(tzinfo=UTC), self.certificate.not_valid_after_utc)
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(usages), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
        )
        alternative: list[x509.GeneralName] = [x509.RFC822Name(e) for e in subject.emails]
        alternative += [x509.DNSName(d) for d in subject.dns_names]
        if alternative:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(alternative), critical=False
            )
        return builder.sign(self.private_key, hashes.SHA256())

    def crl(
        self, revoked: Iterable[tuple[int, datetime]], now: datetime
    ) -> x509.CertificateRevocationList:
        """The current CRL: the serials of revoked bindings' certificates."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now.replace(tzinfo=UTC))
            .next_update((now + timedelta(days=CRL_DAYS)).replace(tzinfo=UTC))
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when.replace(tzinfo=UTC))
                .build()
            )
        return builder.sign(self.private_key, hashes.SHA256())

    def chain_problem(self, chain: Sequence[x509.Certificate], at: datetime) -> str | None:
        """None when the first certificate was issued by this CA and is valid at `at`;
        otherwise why not."""
        if not chain:
            return "no certificate"
        leaf = chain[0]
        try:
            leaf.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return "not issued by Passport's CA"
        moment = at.replace(tzinfo=UTC)
        if not leaf.not_valid_before_utc <= moment < leaf.not_valid_after_utc:
            return "outside the certificate's validity"
        return None


def _key_usage(usages: Sequence[str]) -> x509.KeyUsage:
    every = not usages
    signature = every or names.SIGNATURE in usages
    encryption = every or names.ENCRYPTION in usages
    exchange = every or names.EXCHANGE in usages
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=signature,
        key_encipherment=encryption,
        data_encipherment=encryption,
        key_agreement=exchange,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
