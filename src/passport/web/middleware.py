"""Pure ASGI middleware: request id, security headers, access log and metrics; proxies."""

from __future__ import annotations

import ipaddress
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passport.logs import AccessLog
from passport.web.body import header
from passport.web.metrics import Metrics
from passport.web.state import STATE_KEY, RequestState

HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class RequestMiddleware:
    """Gives every request an id, every response Passport's headers, and logs and counts it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        access_log: AccessLog,
        https: bool,
        server_header: str | None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        headers = list(SECURITY_HEADERS)
        if https:
            headers.append(HSTS)
        self.headers = headers
        self.server = server_header.encode() if server_header else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        client = scope.get("client")
        state = RequestState(
            request_id=secrets.token_hex(8),
            client_address=client[0] if client else "",
        )
        scope[STATE_KEY] = state
        status = 500
        request_id = state.request_id.encode()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    *message.get("headers", ()),
                    *self.headers,
                    (b"x-request-id", request_id),
                ]
                # An endpoint may name more products (the SOAP services do); keep its header.
                if self.server and not any(name.lower() == b"server" for name, _ in headers):
                    headers.append((b"server", self.server))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(state.route, scope["method"], status, elapsed)
            self.access_log.request(
                request_id=state.request_id,
                client=state.client_address,
                method=scope["method"],
                path=scope["path"],
                route=state.route,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
            )


class ProxyHeadersMiddleware:
    """Takes the client address and scheme from X-Forwarded-* sent by a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted: tuple[str, ...]) -> None:
        self.app = app
        self.any = "*" in trusted
        self.networks = [
            ipaddress.ip_network(item, strict=False) for item in trusted if item != "*"
        ]

    def _trusted(self, address: str) -> bool:
        if self.any:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and self._trusted(client[0]):
            # Every line, in order: a proxy may append its own line after the client's.
            forwarded_for = ",".join(
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name == b"x-forwarded-for"
            )
            if forwarded_for:
                hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
                # The nearest hop that is not itself a trusted proxy is the client.
                client_ip = hops[0] if hops else client[0]
                for hop in reversed(hops):
                    if not self._trusted(hop):
                        client_ip = hop
                        break
                scope["client"] = (client_ip, 0)
            proto = header(scope, b"x-forwarded-proto").strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
        await self.app(scope, receive, send)
