"""One service's endpoint: a request's bytes in, the reply's bytes out (sans-I/O).

POST runs the checks in the order SOAP prescribes — Content-Type, XML, envelope version,
envelope shape, mustUnderstand headers — then dispatches by body namespace and element
name. Every outcome is a Reply; an unexpected exception becomes a Receiver fault naming the
request id, with the traceback in the log (and in the detail only in debug mode).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import structlog
from lxml import etree

from passport.soap.envelope import (
    CONTENT_TYPES,
    detail_element,
    fault_message,
    fault_status,
    message,
)
from passport.soap.headers import check_must_understand
from passport.soap.parse import (
    check_content_type,
    check_media_type,
    envelope_version,
    parse_document,
    split_envelope,
    version_for_media_type,
)
from passport.soap.service import SoapFault, SoapRequest, SoapService, SoapVersion
from passport.soap.trace import Direction, Trace

log = structlog.get_logger("passport.soap")

ALLOWED_METHODS = "GET, HEAD, POST"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, and the bounded route label for metrics."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    route: str


@dataclass(frozen=True)
class Received:
    """Who sent a request, and the id the access log knows it by."""

    client_address: str
    request_id: str


class Endpoint:
    """Serves one SoapService at its path."""

    def __init__(
        self,
        service: SoapService,
        *,
        public_url: str,
        server_product: str | None,
        trace: Trace | None = None,
        debug: bool = False,
    ) -> None:
        self.service = service
        self.path = service.path
        self.endpoint_url = public_url.rstrip("/") + service.path
        self.trace = trace
        self.debug = debug
        self._unknown_route = f"soap:{self.path}:unknown"
        self._routes = {name: f"soap:{self.path}:{name}" for name in service.elements}
        self._server: tuple[tuple[str, str], ...] = ()
        if server_product is not None:
            product = " ".join((server_product, *service.server_tokens))
            self._server = (("server", product),)

    def post(self, content_type: str, body: bytes, received: Received) -> Reply:
        """Answer one SOAP request: a response envelope or a fault, never an exception."""
        self._trace("received", body, received)
        version: SoapVersion = version_for_media_type(content_type) or "1.1"
        route = self._unknown_route
        try:
            media_version = version = check_content_type(content_type)
            root = parse_document(body)
            version = envelope_version(root)
            check_media_type(version, media_version)
            envelope = split_envelope(root, version)
            operation = etree.QName(envelope.body)
            if operation.namespace == self.service.namespace:
                route = self._routes.get(operation.localname, route)
            check_must_understand(version, envelope.headers, self.service.understood_headers)
            self._check_operation(operation)
            response = self.service.handle(
                SoapRequest(
                    version=version,
                    body=envelope.body,
                    headers=envelope.headers,
                    document=root,
                    client_address=received.client_address,
                    path=self.path,
                    request_id=received.request_id,
                    endpoint_url=self.endpoint_url,
                )
            )
            reply = self._reply(200, version, message(version, response.body), route)
        except SoapFault as fault:
            reply = self._fault(version, fault, route)
        except Exception:  # the one boundary that turns any failure into a Receiver fault
            log.exception(
                "soap.internal_error",
                reference=received.request_id,
                path=self.path,
                route=route,
            )
            reply = self._fault(version, self._internal_error(received.request_id), route)
        self._trace("sent", reply.body, received)
        return reply

    def too_large(self, content_type: str, limit: int, received: Received) -> Reply:
        """The 413 answer to a body past `limit` bytes, which was never read in full."""
        version = version_for_media_type(content_type) or "1.1"
        fault = SoapFault("Sender", f"Message larger than {limit} bytes")
        reply = self._fault(version, fault, self._unknown_route, status=413)
        self._trace("sent", reply.body, received)
        return reply

    def get(self, query: str, received: Received) -> Reply:
        """GET: a redirect to ?wsdl without a query, else the document the service names."""
        route = f"soap:{self.path}:wsdl"
        if not query:
            # A relative Location: never built from the Host header.
            location = (("location", f"{self.path}?wsdl"),)
            return Reply(302, (*location, *self._server), b"", route)
        try:
            document = self.service.wsdl(self.endpoint_url, query)
        except Exception:  # the same boundary for the service's documents
            log.exception("soap.internal_error", reference=received.request_id, path=self.path)
            text = f"Internal error; reference {received.request_id}\n".encode()
            return self._plain(500, text, route)
        if document is None:
            return self._plain(404, b"Not found\n", route)
        content, content_type = document
        return Reply(200, (("content-type", content_type), *self._server), content, route)

    def method_not_allowed(self) -> Reply:
        """The 405 answer to a method other than GET, HEAD and POST."""
        reply = self._plain(405, b"Method not allowed\n", self._unknown_route)
        return Reply(
            reply.status, (*reply.headers, ("allow", ALLOWED_METHODS)), reply.body, reply.route
        )

    def _check_operation(self, operation: etree.QName) -> None:
        if operation.namespace != self.service.namespace:
            raise SoapFault("Sender", f'Unknown namespace "{operation.namespace}"')
        if operation.localname not in self.service.elements:
            raise SoapFault("Sender", f'Unknown operation "{operation.localname}"')

    def _internal_error(self, request_id: str) -> SoapFault:
        detail = detail_element("Backtrace", traceback.format_exc()) if self.debug else None
        return SoapFault("Receiver", f"Internal error; reference {request_id}", detail=detail)

    def _fault(
        self, version: SoapVersion, fault: SoapFault, route: str, status: int | None = None
    ) -> Reply:
        body = fault_message(version, fault)
        return self._reply(status or fault_status(version, fault), version, body, route)

    def _reply(self, status: int, version: SoapVersion, body: bytes, route: str) -> Reply:
        return Reply(status, (("content-type", CONTENT_TYPES[version]), *self._server), body, route)

    def _plain(self, status: int, body: bytes, route: str) -> Reply:
        headers = (("content-type", "text/plain; charset=utf-8"), *self._server)
        return Reply(status, headers, body, route)

    def _trace(self, direction: Direction, body: bytes, received: Received) -> None:
        if self.trace is None:
            return
        try:
            self.trace.record(
                direction,
                body,
                client_address=received.client_address,
                path=self.path,
                request_id=received.request_id,
            )
        except OSError as error:
            # A full disk must not take the service down with it; the log says so.
            log.warning("soap.trace_failed", path=str(self.trace.path), error=str(error))
