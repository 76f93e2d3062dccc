"""The echo operation as a Passport SOAP service, for bench/soap_peers.py.

Document/literal: `Echo` with a `text` child in ECHO_NS is answered with `EchoResponse`
holding the same text, as spyne (bench/spyne_echo.py) and the npm `soap` package
(bench/node/echo_server.js) answer it. Registered with the setting
soap_services = ["bench.echo_service:create"].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from passport.soap.service import SoapFault, SoapRequest, SoapResponse

ECHO_NS = "urn:passport-bench:echo"
WSDL = Path(__file__).with_name("echo.wsdl")
_TEXT = f"{{{ECHO_NS}}}text"


class EchoService:
    """Echoes the text it is sent."""

    path = "/echo"
    namespace = ECHO_NS
    elements = frozenset({"Echo"})
    understood_headers: frozenset[tuple[str, str]] = frozenset()
    server_tokens = ("Echo/1.0",)
    # No I/O, a few microseconds of work: the container runs it on the event loop.
    inline = True

    def __init__(self) -> None:
        self._wsdl = WSDL.read_text(encoding="utf-8")

    def wsdl(self, endpoint_url: str, query: str) -> tuple[bytes, str] | None:
        """The WSDL for ?wsdl."""
        if query != "wsdl":
            return None
        return self._wsdl.replace("{address}", endpoint_url).encode(), "text/xml; charset=utf-8"

    def handle(self, request: SoapRequest) -> SoapResponse:
        """EchoResponse with the request's text."""
        text = request.body.find(_TEXT)
        if text is None:
            raise SoapFault("Sender", "Echo needs a text element")
        response = etree.Element(f"{{{ECHO_NS}}}EchoResponse", nsmap={"e": ECHO_NS})
        etree.SubElement(response, _TEXT).text = text.text
        return SoapResponse(response)


def create(settings: Any) -> EchoService:
    """The factory the settings name."""
    return EchoService()
