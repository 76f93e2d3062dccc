"""The ASGI endpoint serving the envelope API at `/<Controller>/<method>`."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from passport.api.context import RequestContext
from passport.api.dispatch import ApiCall, Dispatcher
from passport.api.envelope import ApiResponse, client_error, server_error
from passport.api.errors import BodyTooLarge, ClientError, CrossSiteRefused
from passport.web.body import BodyTooLargeError, header, read_body
from passport.web.credentials import (
    basic_credentials,
    clear_session_cookie,
    request_origin,
    session_cookie,
    set_session_cookie,
)
from passport.web.state import RequestState, request_state

log = structlog.get_logger("passport.api")

PREFLIGHT_MAX_AGE = "600"


class EnvelopeEndpoint:
    """Adapts the framework-free Dispatcher to ASGI, with at most one threadpool hop."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        public_url: str,
        max_body: int,
        inline_reads: bool = True,
        reads_free: Callable[[], bool] = lambda: True,
    ) -> None:
        self.dispatcher = dispatcher
        # When every reader connection is taken, an inline read would wait on the event
        # loop for one to come back: such a request takes the hop instead.
        self.reads_free = reads_free
        # Short reads marked inline run on the event loop, skipping the threadpool hop. On a
        # networked database that pays only when every core has a worker: otherwise the
        # loop idles through the round trip while threads could overlap it.
        self.inline_reads = inline_reads
        self.public_url = public_url
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = request_state(scope)
        try:
            response = await self._answer(scope, receive, state)
        except Exception:  # the HTTP boundary: what escapes (a database outage) is hidden too
            log.exception("api.internal_error", reference=state.request_id, route=state.route)
            response = server_error(state.request_id)
        await send_response(send, response, head=scope["method"] == "HEAD")

    async def _answer(self, scope: Scope, receive: Receive, state: RequestState) -> ApiResponse:
        http_method: str = scope["method"]
        context = self._context(scope, state.request_id, state.client_address)
        try:
            method = self.dispatcher.find(scope["path"])
            state.route = method.route
            if http_method == "OPTIONS":
                return await self._preflight(context)
            body = b""
            if http_method == "POST":
                try:
                    body = await read_body(scope, receive, self.max_body)
                except BodyTooLargeError:
                    raise BodyTooLarge(
                        f"The request body is larger than {self.max_body} bytes.", source="body"
                    ) from None
            call = self.dispatcher.prepare(
                method,
                http_method,
                scope.get("query_string", b""),
                header(scope, b"content-type"),
                body,
            )
        except ClientError as error:
            logged_in = False
            guard = self.dispatcher.guard
            if context.session_token is not None and guard is not None:
                logged_in = await run_in_threadpool(guard.is_logged_in, context.session_token)
            return client_error(error, logged_in=logged_in)
        context.jsonp = call.callback is not None
        response: ApiResponse
        if self.inline_reads and call.method.spec.inline and self.reads_free():
            response = self.dispatcher.invoke(call, context)
            if context.deferred:
                await run_in_threadpool(_run_deferred, context)
        else:
            response = await run_in_threadpool(_invoke, self.dispatcher, call, context)
        _add_session_effects(response, context)
        return response

    def _context(self, scope: Scope, request_id: str, client_address: str) -> RequestContext:
        origin, from_referer = request_origin(header(scope, b"origin"), header(scope, b"referer"))
        authorization = header(scope, b"authorization")
        return RequestContext(
            request_id=request_id,
            client_address=client_address,
            http_method=scope["method"],
            public_url=self.public_url,
            session_token=session_cookie(scope),
            basic_credentials=basic_credentials(authorization) if authorization else None,
            origin=origin,
            origin_from_referer=from_referer,
        )

    async def _preflight(self, context: RequestContext) -> ApiResponse:
        """CORS preflight: allowed for an application's registered origins only."""
        guard = self.dispatcher.guard
        registered = False
        if context.origin is not None and guard is not None and not context.origin_from_referer:
            registered, _ = await run_in_threadpool(
                guard.applications.origin_status, context.origin
            )
        if not registered:
            return client_error(
                CrossSiteRefused(
                    "Origin is not registered for any application.",
                    source="Origin",
                    value=context.origin or "",
                )
            )
        response = ApiResponse(204, b"")
        response.headers.extend(
            [
                ("access-control-allow-origin", context.origin or ""),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST"),
                ("access-control-allow-headers", "Content-Type, Authorization"),
                ("access-control-max-age", PREFLIGHT_MAX_AGE),
                ("vary", "Origin"),
            ]
        )
        return response


def _invoke(dispatcher: Dispatcher, call: ApiCall, context: RequestContext) -> ApiResponse:
    response = dispatcher.invoke(call, context)
    _run_deferred(context)
    return response


def _run_deferred(context: RequestContext) -> None:
    # The answer is already decided; a write that was only bookkeeping must not change it.
    for deferred in context.deferred:
        try:
            deferred()
        except Exception:  # logged with the request's reference, the answer stands
            log.exception("api.deferred_write_failed", reference=context.request_id)
    context.deferred.clear()


def _add_session_effects(response: ApiResponse, context: RequestContext) -> None:
    if context.new_session_token is not None:
        response.headers.append(set_session_cookie(context.new_session_token))
    elif context.end_session:
        response.headers.append(clear_session_cookie())
    if context.cors_origin is not None:
        response.headers.extend(
            [
                ("access-control-allow-origin", context.cors_origin),
                ("access-control-allow-credentials", "true"),
                ("vary", "Origin"),
            ]
        )


async def send_response(send: Send, response: ApiResponse, *, head: bool = False) -> None:
    """Send an ApiResponse; for HEAD, the headers only (with the body's length)."""
    headers = [
        (b"content-type", f"{response.content_type}; charset=utf-8".encode()),
        (b"content-length", str(len(response.body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    headers.extend((name.encode(), value.encode()) for name, value in response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})
