"""The contract between the SOAP container and the services it hosts.

A service declares where it lives (path), what it handles (body namespace and element names,
understood header blocks) and answers one parsed request at a time. It knows nothing of HTTP:
the container parses, checks and dispatches, and turns faults into the version's fault form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from lxml import etree

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"

SoapVersion = Literal["1.1", "1.2"]


@dataclass(frozen=True)
class SoapRequest:
    """One checked SOAP request, ready for a service."""

    version: SoapVersion
    body: etree._Element
    """The first (only) child element of soap:Body."""
    headers: tuple[etree._Element, ...]
    """The children of soap:Header."""
    document: etree._Element
    """The soap:Envelope root; signature checks need the whole tree."""
    client_address: str
    path: str
    request_id: str
    endpoint_url: str
    """The public URL of this endpoint: PASSPORT_PUBLIC_URL + path."""


@dataclass(frozen=True)
class SoapResponse:
    """A service's answer: `body` becomes the only child of soap:Body."""

    body: etree._Element


class SoapFault(Exception):
    """A fault to send back, named in SOAP 1.2 terms; the container maps 1.1's names.

    `code` is "Sender", "Receiver", "MustUnderstand" or "VersionMismatch" (SOAP 1.1:
    Client, Server, MustUnderstand, VersionMismatch). `subcode` is a (namespace, local name)
    pair; `detail` an element or a text placed in the fault's detail.
    """

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        subcode: tuple[str, str] | None = None,
        detail: etree._Element | str | None = None,
    ) -> None:
        if code not in ("Sender", "Receiver", "MustUnderstand", "VersionMismatch"):
            raise ValueError(f"unknown SOAP fault code {code!r}")
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.subcode = subcode
        self.detail = detail


class SoapService(Protocol):
    """A document/literal service the container hosts at `path`."""

    path: str
    """Where the service is served, e.g. "/xkms"."""
    namespace: str
    """The namespace of the body elements it handles."""
    elements: frozenset[str]
    """The local names of the body elements it handles."""
    understood_headers: frozenset[tuple[str, str]]
    """(namespace, local name) of the header blocks it processes."""
    server_tokens: tuple[str, ...]
    """Product tokens appended to the Server header, e.g. ("XKMS/2.0",)."""

    def wsdl(self, endpoint_url: str, query: str) -> tuple[bytes, str] | None:
        """(document, content type) for GET `?<query>` ("wsdl", "xsd=x.xsd"); None: not found."""
        ...

    def handle(self, request: SoapRequest) -> SoapResponse:
        """Answer one request; may raise SoapFault. Runs in a worker thread, or on the
        event loop when the service sets `inline = True` (an optional attribute: only for
        services that do no I/O and little CPU work, where the thread hop costs more)."""
        ...
