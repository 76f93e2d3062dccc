"""The ASGI adapter of the SOAP container: one route per hosted service.

The body is read here (with the SOAP size limit) and the whole exchange — parsing, the
service's work, serialising, tracing — runs in the threadpool in one hop, or, for a service
that declares `inline = True` (no I/O, short CPU work), on the event loop without the hop.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from passport import __version__
from passport.config import Settings
from passport.soap.endpoint import Endpoint, Received, Reply
from passport.soap.registry import ServiceRegistrationError, load_services
from passport.soap.service import SoapService
from passport.soap.trace import Trace
from passport.web.body import BodyTooLargeError, header, read_body
from passport.web.state import request_state


class SoapEndpoint:
    """Adapts one framework-free Endpoint to ASGI."""

    def __init__(self, endpoint: Endpoint, max_body: int) -> None:
        self.endpoint = endpoint
        self.max_body = max_body
        self.inline = getattr(endpoint.service, "inline", False) is True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = request_state(scope)
        received = Received(state.client_address, state.request_id)
        method = scope["method"]
        if method in ("GET", "HEAD"):
            query = scope.get("query_string", b"").decode("latin-1")
            reply = self.endpoint.get(query, received)
        elif method == "POST":
            reply = await self._post(scope, receive, received)
        else:
            reply = self.endpoint.method_not_allowed()
        state.route = reply.route
        await send_reply(send, reply, head=method == "HEAD")

    async def _post(self, scope: Scope, receive: Receive, received: Received) -> Reply:
        content_type = header(scope, b"content-type")
        try:
            body = await read_body(scope, receive, self.max_body)
        except BodyTooLargeError:
            return self.endpoint.too_large(content_type, self.max_body, received)
        if self.inline:
            return self.endpoint.post(content_type, body, received)
        return await run_in_threadpool(self.endpoint.post, content_type, body, received)


async def send_reply(send: Send, reply: Reply, *, head: bool = False) -> None:
    """Send a Reply as one ASGI response."""
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else reply.body})


def soap_routes(
    settings: Settings, *, taken: Iterable[str] = (), built_in: Iterable[SoapService] = ()
) -> list[Route]:
    """A route for every SOAP service: `built_in` ones, entry points, and the settings' names.

    `taken` are paths Passport already routes. ServiceRegistrationError when a service
    cannot load or its path is taken.
    """
    services = load_services(settings.soap_services, settings, built_in)
    taken = frozenset(taken)
    trace = Trace(settings.trace_file) if settings.trace_file is not None and services else None
    routes: list[Route] = []
    for service in services:
        if service.path in taken:
            raise ServiceRegistrationError(
                f"SOAP service path {service.path} is taken by one of Passport's own routes"
            )
        endpoint = Endpoint(
            service,
            public_url=settings.effective_public_url,
            server_product=f"Passport/{__version__}" if settings.server_header else None,
            trace=trace,
            debug=settings.debug,
        )
        routes.append(Route(service.path, SoapEndpoint(endpoint, settings.soap_max_bytes)))
    return routes
