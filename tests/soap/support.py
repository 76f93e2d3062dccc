"""Building SOAP requests and reading the answers, in both SOAP versions."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from lxml import etree

from passport.soap.service import SOAP11_ENV, SOAP12_ENV

from .echo import ECHO_NS

NAMESPACES = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
CODES_11 = {"Sender": "Client", "Receiver": "Server"}
DETAIL_NS = "urn:passport-server:soap"
ECHO = f'<e:Echo xmlns:e="{ECHO_NS}"><e:text>hello</e:text></e:Echo>'
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def envelope(version: str, body: str = ECHO, header: str | None = None) -> bytes:
    """A request envelope in the given version holding `body` (and a Header if given)."""
    namespace = NAMESPACES[version]
    header_part = f"<soap:Header>{header}</soap:Header>" if header is not None else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{namespace}">{header_part}'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


async def post(
    client: httpx.AsyncClient, version: str, content: bytes, content_type: str | None = None
) -> httpx.Response:
    """POST a message to the echo endpoint with the version's Content-Type (or the one given)."""
    headers = {"content-type": content_type if content_type is not None else CONTENT_TYPES[version]}
    return await client.post("/echo", content=content, headers=headers)


@dataclass(frozen=True)
class Fault:
    """A fault as the wire carries it, in either version."""

    version: str
    code: str
    subcode: tuple[str, str] | None
    reason: str
    detail: etree._Element | None
    document: etree._Element

    def detail_entry(self, name: str) -> etree._Element:
        """The detail entry of Passport's own namespace with this local name."""
        assert self.detail is not None, "the fault has no detail"
        entry = self.detail.find(f"{{{DETAIL_NS}}}{name}")
        assert entry is not None, f"no {name} in the detail"
        return entry


def read_fault(response: httpx.Response, version: str) -> Fault:
    """The fault in the response, checked to be in `version`'s form and Content-Type."""
    media_type = CONTENT_TYPES[version].split(";")[0]
    assert response.headers["content-type"].startswith(media_type), response.headers
    root = etree.fromstring(response.content)
    namespace = NAMESPACES[version]
    assert root.tag == f"{{{namespace}}}Envelope"
    fault = root.find(f"{{{namespace}}}Body/{{{namespace}}}Fault")
    assert fault is not None, response.text
    if version == "1.1":
        code_text = fault.findtext("faultcode") or ""
        prefix, _, code = code_text.partition(":")
        assert fault.nsmap.get(prefix) == SOAP11_ENV
        reason = fault.findtext("faultstring") or ""
        return Fault(version, code, None, reason, fault.find("detail"), root)
    value = fault.find(f"{{{namespace}}}Code/{{{namespace}}}Value")
    assert value is not None
    code_name = etree.QName(_resolve(value))
    assert code_name.namespace == SOAP12_ENV
    subcode_value = fault.find(f"{{{namespace}}}Code/{{{namespace}}}Subcode/{{{namespace}}}Value")
    subcode = None
    if subcode_value is not None:
        resolved = etree.QName(_resolve(subcode_value))
        subcode = (resolved.namespace or "", resolved.localname)
    text = fault.find(f"{{{namespace}}}Reason/{{{namespace}}}Text")
    assert text is not None
    assert text.get(XML_LANG) == "en"
    detail = fault.find(f"{{{namespace}}}Detail")
    return Fault(version, code_name.localname, subcode, text.text or "", detail, root)


def _resolve(element: etree._Element) -> str:
    """The Clark name of the QName in an element's text."""
    prefix, _, name = (element.text or "").partition(":")
    return f"{{{element.nsmap[prefix]}}}{name}"


def expected_code(version: str, code: str) -> str:
    """A SOAP 1.2 code as the version names it."""
    return CODES_11.get(code, code) if version == "1.1" else code


def expected_status(version: str, code: str) -> int:
    """The HTTP status of a fault: SOAP 1.2 Sender faults are 400, all else 500."""
    return 400 if version == "1.2" and code == "Sender" else 500
