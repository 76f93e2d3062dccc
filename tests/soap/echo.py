"""A small document/literal echo service: proves the container hosts any SoapService.

Operations (namespace ECHO_NS): Echo returns EchoResponse with the same text; Refuse (or
Echo of REFUSE_TEXT, for clients that only know Echo) raises a Sender fault with a subcode;
Explode raises an unexpected exception. It counts its calls and keeps the requests it saw,
so tests can tell that a refused message never reached it.
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree

from passport.soap.service import SoapFault, SoapRequest, SoapResponse

ECHO_NS = "urn:passport-test:echo"
UNDERSTOOD = "Understood"
SECRET = "echo-internal-secret-7c1d"
REFUSE_TEXT = "please refuse"

WSDL_TEMPLATE = """<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:e="urn:passport-test:echo"
    targetNamespace="urn:passport-test:echo">
  <wsdl:types>
    <xs:schema targetNamespace="urn:passport-test:echo" elementFormDefault="qualified">
      <xs:element name="Echo">
        <xs:complexType><xs:sequence>
          <xs:element name="text" type="xs:string"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="EchoResponse">
        <xs:complexType><xs:sequence>
          <xs:element name="text" type="xs:string"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="EchoInput"><wsdl:part name="body" element="e:Echo"/></wsdl:message>
  <wsdl:message name="EchoOutput"><wsdl:part name="body" element="e:EchoResponse"/></wsdl:message>
  <wsdl:portType name="EchoPortType">
    <wsdl:operation name="Echo">
      <wsdl:input message="e:EchoInput"/>
      <wsdl:output message="e:EchoOutput"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="EchoSoap" type="e:EchoPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Echo">
      <soap:operation soapAction="" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:binding name="EchoSoap12" type="e:EchoPortType">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Echo">
      <soap12:operation soapAction="" style="document"/>
      <wsdl:input><soap12:body use="literal"/></wsdl:input>
      <wsdl:output><soap12:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="EchoService">
    <wsdl:port name="EchoSoap" binding="e:EchoSoap">
      <soap:address location="{address}"/>
    </wsdl:port>
    <wsdl:port name="EchoSoap12" binding="e:EchoSoap12">
      <soap12:address location="{address}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


class EchoService:
    """Echoes the text it is sent; the container's test double of a real service."""

    path = "/echo"
    namespace = ECHO_NS
    elements = frozenset({"Echo", "Refuse", "Explode"})
    understood_headers = frozenset({(ECHO_NS, UNDERSTOOD)})
    server_tokens = ("Echo/1.0",)

    def __init__(self, path: str = "/echo", *, inline: bool = False) -> None:
        self.path = path
        self.inline = inline
        self.threads: list[int] = []
        self.requests: list[SoapRequest] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        """How many requests reached handle()."""
        return len(self.requests)

    def wsdl(self, endpoint_url: str, query: str) -> tuple[bytes, str] | None:
        """The WSDL for ?wsdl, nothing else."""
        if query != "wsdl":
            return None
        document = WSDL_TEMPLATE.format(address=endpoint_url).encode()
        return document, "text/xml; charset=utf-8"

    def handle(self, request: SoapRequest) -> SoapResponse:
        """Echo, refuse or explode, as the body element asks."""
        with self._lock:
            self.requests.append(request)
            self.threads.append(threading.get_ident())
        operation = etree.QName(request.body).localname
        if operation == "Refuse" or request.body.findtext(f"{{{ECHO_NS}}}text") == REFUSE_TEXT:
            raise SoapFault(
                "Sender", "Refused by the echo service", subcode=(ECHO_NS, "Refused"), detail="no"
            )
        if operation == "Explode":
            raise RuntimeError(f"echo exploded with {SECRET}")
        response = etree.Element(f"{{{ECHO_NS}}}EchoResponse", nsmap={"e": ECHO_NS})
        for child in list(request.body):
            response.append(child)
        return SoapResponse(response)


def create(settings: Any) -> EchoService:
    """The factory the settings name as "soap.echo:create"."""
    return EchoService()


def create_inline(settings: Any) -> EchoService:
    """An echo service at /inline-echo that runs on the event loop."""
    return EchoService("/inline-echo", inline=True)


def create_second(settings: Any) -> EchoService:
    """Another echo service at the same path: registering both must fail."""
    return EchoService()


def create_at_healthz(settings: Any) -> EchoService:
    """An echo service that wants one of Passport's own paths."""
    return EchoService("/healthz")


def create_with_bad_path(settings: Any) -> EchoService:
    """An echo service whose path would be a route pattern."""
    return EchoService("/echo/{name}")


NOT_A_FACTORY = "a string is not callable"


def create_not_a_service(settings: Any) -> object:
    """A factory that returns something other than a service."""
    return object()
