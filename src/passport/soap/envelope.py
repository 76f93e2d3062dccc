"""Writing messages: response envelopes and faults in SOAP 1.1 and 1.2 form.

Faults are named in SOAP 1.2 terms (Sender, Receiver); SOAP 1.1 calls them Client and Server.
SOAP 1.2 faults also carry NotUnderstood header blocks (MustUnderstand) and an Upgrade header
naming the supported envelopes (VersionMismatch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from passport.soap.service import SOAP11_ENV, SOAP12_ENV, SoapFault, SoapVersion

CONTENT_TYPES: dict[SoapVersion, str] = {
    "1.1": "text/xml; charset=utf-8",
    "1.2": "application/soap+xml; charset=utf-8",
}
NAMESPACES: dict[SoapVersion, str] = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
PREFIXES: dict[SoapVersion, str] = {"1.1": "soap", "1.2": "env"}
SOAP11_CODES = {"Sender": "Client", "Receiver": "Server"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DETAIL_NS = "urn:passport-server:soap"
"""Namespace of the detail entries of Passport's own faults (ParseError, Message, Backtrace)."""


@dataclass(frozen=True)
class NotUnderstood:
    """A header block that had to be understood and was not."""

    namespace: str
    name: str
    prefix: str | None

    def __str__(self) -> str:
        return f"{{{self.namespace}}}{self.name}"


class MustUnderstandFault(SoapFault):
    """The MustUnderstand fault, naming the header blocks no one processes."""

    def __init__(self, blocks: Iterable[NotUnderstood]) -> None:
        self.blocks = tuple(blocks)
        names = ", ".join(f'"{block}"' for block in self.blocks)
        super().__init__("MustUnderstand", f"Header not understood: {names}")


def message(version: SoapVersion, body: etree._Element) -> bytes:
    """A serialised envelope holding `body` as the only child of its Body."""
    envelope = _envelope(version)
    etree.SubElement(envelope, f"{{{NAMESPACES[version]}}}Body").append(body)
    return _serialise(envelope)


def fault_status(version: SoapVersion, fault: SoapFault) -> int:
    """The HTTP status of a fault: SOAP 1.1 always 500; SOAP 1.2 Sender 400, others 500."""
    return 400 if version == "1.2" and fault.code == "Sender" else 500


def fault_message(version: SoapVersion, fault: SoapFault) -> bytes:
    """A serialised fault envelope in the given version."""
    namespace = NAMESPACES[version]
    envelope = _envelope(version)
    if fault.code == "VersionMismatch":
        _add_upgrade(etree.SubElement(envelope, f"{{{namespace}}}Header"), version)
    elif version == "1.2" and isinstance(fault, MustUnderstandFault):
        header = etree.SubElement(envelope, f"{{{namespace}}}Header")
        for block in fault.blocks:
            _add_not_understood(header, block)
    body = etree.SubElement(envelope, f"{{{namespace}}}Body")
    if version == "1.1":
        _soap11_fault(body, fault)
    else:
        _soap12_fault(body, fault)
    return _serialise(envelope)


def detail_element(name: str, text: str) -> etree._Element:
    """A detail entry in Passport's namespace, e.g. ParseError or Backtrace."""
    entry = etree.Element(f"{{{DETAIL_NS}}}{name}", nsmap={"ps": DETAIL_NS})
    entry.text = text
    return entry


def _envelope(version: SoapVersion) -> etree._Element:
    namespace = NAMESPACES[version]
    return etree.Element(f"{{{namespace}}}Envelope", nsmap={PREFIXES[version]: namespace})


def _soap11_fault(body: etree._Element, fault: SoapFault) -> None:
    element = etree.SubElement(body, f"{{{SOAP11_ENV}}}Fault")
    code = SOAP11_CODES.get(fault.code, fault.code)
    if fault.subcode is not None:
        # SOAP 1.1 refines a code with dots ("Client.Authentication").
        code = f"{code}.{fault.subcode[1]}"
    etree.SubElement(element, "faultcode").text = f"{PREFIXES['1.1']}:{code}"
    etree.SubElement(element, "faultstring").text = fault.reason
    if fault.detail is not None:
        etree.SubElement(element, "detail").append(_detail_entry(fault.detail))


def _soap12_fault(body: etree._Element, fault: SoapFault) -> None:
    prefix = PREFIXES["1.2"]
    element = etree.SubElement(body, f"{{{SOAP12_ENV}}}Fault")
    code = etree.SubElement(element, f"{{{SOAP12_ENV}}}Code")
    etree.SubElement(code, f"{{{SOAP12_ENV}}}Value").text = f"{prefix}:{fault.code}"
    if fault.subcode is not None:
        namespace, name = fault.subcode
        subcode = etree.SubElement(code, f"{{{SOAP12_ENV}}}Subcode")
        value = etree.SubElement(subcode, f"{{{SOAP12_ENV}}}Value", nsmap={"sub": namespace})
        value.text = f"sub:{name}"
    reason = etree.SubElement(element, f"{{{SOAP12_ENV}}}Reason")
    text = etree.SubElement(reason, f"{{{SOAP12_ENV}}}Text")
    text.set(XML_LANG, "en")
    text.text = fault.reason
    if fault.detail is not None:
        detail = etree.SubElement(element, f"{{{SOAP12_ENV}}}Detail")
        detail.append(_detail_entry(fault.detail))


def _detail_entry(detail: etree._Element | str) -> etree._Element:
    return detail_element("Message", detail) if isinstance(detail, str) else detail


def _add_not_understood(header: etree._Element, block: NotUnderstood) -> None:
    prefix = block.prefix if block.prefix and block.prefix != PREFIXES["1.2"] else "ns"
    element = etree.SubElement(
        header, f"{{{SOAP12_ENV}}}NotUnderstood", nsmap={prefix: block.namespace}
    )
    element.set("qname", f"{prefix}:{block.name}")


def _add_upgrade(header: etree._Element, version: SoapVersion) -> None:
    # In a SOAP 1.1 envelope the SOAP 1.2 namespace needs its own declaration.
    nsmap = {PREFIXES["1.2"]: SOAP12_ENV} if version == "1.1" else None
    upgrade = etree.SubElement(header, f"{{{SOAP12_ENV}}}Upgrade", nsmap=nsmap)
    tag = f"{{{SOAP12_ENV}}}SupportedEnvelope"
    etree.SubElement(upgrade, tag).set("qname", f"{PREFIXES['1.2']}:Envelope")
    etree.SubElement(upgrade, tag, nsmap={"ns1": SOAP11_ENV}).set("qname", "ns1:Envelope")


def _serialise(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
