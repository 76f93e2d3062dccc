"""Key bindings as result elements: UnverifiedKeyBinding and KeyBinding with Status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from lxml import etree

from passport.xkms import names
from passport.xkms.bindings import StoredBinding
from passport.xkms.keys import key_value_element
from passport.xkms.messages import Element, format_datetime
from passport.xkms.names import ds, q


@dataclass(frozen=True, slots=True)
class Status:
    """A key binding's status with the reasons that passed and failed."""

    value: str
    valid_reasons: tuple[str, ...]
    invalid_reasons: tuple[str, ...]


ALL_REASONS = (
    names.ISSUER_TRUST,
    names.REVOCATION_STATUS,
    names.VALIDITY_INTERVAL,
    names.SIGNATURE_REASON,
)


def status_of(binding: StoredBinding, instant: datetime, *, issuer_trusted: bool = True) -> Status:
    """Valid, or Invalid naming RevocationStatus (revoked, or owner locked or deleted),
    ValidityInterval (outside the interval at `instant`) and/or IssuerTrust (a certificate
    given with the query that Passport's CA did not issue)."""
    failed = []
    if not issuer_trusted:
        failed.append(names.ISSUER_TRUST)
    revoked = binding.revoked_at is not None and binding.revoked_at <= instant
    if revoked or binding.owner_gone:
        failed.append(names.REVOCATION_STATUS)
    if not binding.within(instant):
        failed.append(names.VALIDITY_INTERVAL)
    passed = tuple(reason for reason in ALL_REASONS if reason not in failed)
    return Status(names.INVALID if failed else names.VALID, passed, tuple(failed))


def key_binding_element(
    binding: StoredBinding,
    respond_with: frozenset[str],
    *,
    tag: str = "KeyBinding",
    status: Status | None = None,
    x509_data: Element | None = None,
) -> Element:
    """The binding as `tag` (UnverifiedKeyBinding, KeyBinding), in schema order, with the
    KeyInfo parts that RespondWith asked for."""
    element = etree.Element(q(tag))
    element.set("Id", binding.binding_id)
    key_info = key_info_element(binding, respond_with)
    if x509_data is not None:
        if key_info is None:
            key_info = etree.Element(ds("KeyInfo"))
        key_info.append(x509_data)
    if key_info is not None:
        element.append(key_info)
    for usage in binding.key_usages:
        etree.SubElement(element, q("KeyUsage")).text = usage
    for pair in binding.use_key_with:
        use = etree.SubElement(element, q("UseKeyWith"))
        use.set("Application", pair.application)
        use.set("Identifier", pair.identifier)
    interval = etree.SubElement(element, q("ValidityInterval"))
    interval.set("NotBefore", format_datetime(binding.not_before))
    if binding.not_after is not None:
        interval.set("NotOnOrAfter", format_datetime(binding.not_after))
    if status is not None:
        element.append(status_element(status))
    return element


def key_info_element(binding: StoredBinding, respond_with: frozenset[str]) -> Element | None:
    """ds:KeyInfo with ds:KeyName and/or ds:KeyValue as asked (KeyValue when nothing is)."""
    wants_name = names.RESPOND_KEY_NAME in respond_with
    wants_value = names.RESPOND_KEY_VALUE in respond_with or not respond_with
    if not (wants_name and binding.key_name) and not wants_value:
        return None
    key_info = etree.Element(ds("KeyInfo"))
    if wants_name and binding.key_name:
        etree.SubElement(key_info, ds("KeyName")).text = binding.key_name
    if wants_value:
        public_key = load_pem_public_key(binding.public_key_pem.encode("ascii"))
        key_info.append(key_value_element(public_key))  # type: ignore[arg-type]
    return key_info


def status_element(status: Status) -> Element:
    """`<Status StatusValue=...>` with ValidReason and InvalidReason children."""
    element = etree.Element(q("Status"))
    element.set("StatusValue", status.value)
    _reasons(element, "ValidReason", status.valid_reasons)
    _reasons(element, "InvalidReason", status.invalid_reasons)
    return element


def _reasons(parent: Element, tag: str, reasons: Iterable[str]) -> None:
    for reason in reasons:
        etree.SubElement(parent, q(tag)).text = reason
