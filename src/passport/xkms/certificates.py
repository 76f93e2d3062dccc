"""Certificates for key bindings: issued by Passport's CA, kept for chains and the CRL."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from sqlalchemy import Connection, insert, select

from passport.storage.database import Database
from passport.storage.tables import xkms_certificate, xkms_key_binding
from passport.xkms import names
from passport.xkms.bindings import StoredBinding
from passport.xkms.ca import CertificateAuthority, subject_for
from passport.xkms.keys import PublicKey
from passport.xkms.messages import Element
from passport.xkms.names import ds

WANTS_CERTIFICATE = frozenset({names.RESPOND_X509_CERT, names.RESPOND_X509_CHAIN})


@dataclass
class Certificates:
    """Issues and finds binding certificates, and makes the CRL."""

    database: Database
    ca: CertificateAuthority
    previous: tuple[CertificateAuthority, ...] = ()

    @property
    def trusted(self) -> tuple[CertificateAuthority, ...]:
        """The current CA first, then those rotated out but not retired."""
        return (self.ca, *self.previous)

    def chain_problem(self, chain: Sequence[x509.Certificate], at: datetime) -> str | None:
        """None when a trusted CA issued the chain's first certificate, valid at `at`."""
        problems = [ca.chain_problem(chain, at) for ca in self.trusted]
        if None in problems:
            return None
        return problems[0]

    def issue(
        self, connection: Connection, binding: StoredBinding, public_key: PublicKey, now: datetime
    ) -> x509.Certificate:
        """A certificate for the binding, stored in the caller's transaction."""
        not_after = binding.not_after or self.ca.certificate.not_valid_after_utc.replace(
            tzinfo=None
        )
        certificate = self.ca.issue(
            public_key,
            subject_for(binding.use_key_with, binding.username or "unknown"),
            binding.key_usages,
            binding.not_before,
            not_after,
        )
        connection.execute(
            insert(xkms_certificate).values(
                serial=format(certificate.serial_number, "x"),
                binding_id=binding.id,
                issued_at=now,
                not_after=certificate.not_valid_after_utc.replace(tzinfo=None),
                certificate=certificate.public_bytes(Encoding.PEM).decode("ascii"),
            )
        )
        return certificate

    def latest(self, binding_ids: Sequence[int]) -> dict[int, x509.Certificate]:
        """The newest certificate of each binding that has one."""
        if not binding_ids:
            return {}
        found: dict[int, x509.Certificate] = {}
        with self.database.read() as connection:
            for row in connection.execute(
                select(xkms_certificate.c.binding_id, xkms_certificate.c.certificate)
                .where(xkms_certificate.c.binding_id.in_(binding_ids))
                .order_by(xkms_certificate.c.id)
            ):
                found[row.binding_id] = x509.load_pem_x509_certificate(row.certificate.encode())
        return found

    def crls(self, now: datetime) -> list[x509.CertificateRevocationList]:
        """One current CRL per trusted CA, each listing the certificates it issued to
        bindings that are now revoked."""
        with self.database.read() as connection:
            rows = connection.execute(
                select(xkms_certificate.c.certificate, xkms_key_binding.c.revoked_at)
                .join(xkms_key_binding, xkms_key_binding.c.id == xkms_certificate.c.binding_id)
                .where(xkms_key_binding.c.revoked_at.is_not(None))
                .order_by(xkms_certificate.c.id)
            ).all()
        revoked = [
            (x509.load_pem_x509_certificate(r.certificate.encode()), r.revoked_at) for r in rows
        ]
        return [
            ca.crl(
                (
                    (certificate.serial_number, when)
                    for certificate, when in revoked
                    if ca.chain_problem(
                        [certificate], certificate.not_valid_before_utc.replace(tzinfo=None)
                    )
                    is None
                ),
                now,
            )
            for ca in self.trusted
        ]

    def x509_data(
        self,
        respond_with: frozenset[str],
        certificate: x509.Certificate | None,
        crls: Sequence[x509.CertificateRevocationList],
    ) -> Element | None:
        """ds:X509Data with what RespondWith asked: the certificate, the chain, the CRL."""
        parts: list[tuple[str, bytes]] = []
        if certificate is not None and respond_with & WANTS_CERTIFICATE:
            parts.append(("X509Certificate", certificate.public_bytes(Encoding.DER)))
            if names.RESPOND_X509_CHAIN in respond_with:
                parts.append(("X509Certificate", self.ca.certificate.public_bytes(Encoding.DER)))
        parts.extend(("X509CRL", crl.public_bytes(Encoding.DER)) for crl in crls)
        if not parts:
            return None
        data = etree.Element(ds("X509Data"))
        for tag, der in parts:
            etree.SubElement(data, ds(tag)).text = base64.b64encode(der).decode("ascii")
        return data
