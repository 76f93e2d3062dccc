"""The ASGI endpoint serving the envelope API at `/<Controller>/<method>`."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from passport.api.context import RequestContext
from passport.api.dispatch import Dispatcher
from passport.api.envelope import ApiResponse, client_error
from passport.api.errors import BodyTooLarge, ClientError
from passport.web.body import BodyTooLargeError, header, read_body
from passport.web.state import request_state


class EnvelopeEndpoint:
    """Adapts the framework-free Dispatcher to ASGI, with at most one threadpool hop."""

    def __init__(self, dispatcher: Dispatcher, *, public_url: str, max_body: int) -> None:
        self.dispatcher = dispatcher
        self.public_url = public_url
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = request_state(scope)
        http_method: str = scope["method"]
        response: ApiResponse
        try:
            method = self.dispatcher.find(scope["path"])
            state.route = method.route
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
            response = client_error(error)
        else:
            context = RequestContext(
                request_id=state.request_id,
                client_address=state.client_address,
                http_method=http_method,
                public_url=self.public_url,
            )
            if call.method.spec.inline:
                response = self.dispatcher.invoke(call, context)
            else:
                response = await run_in_threadpool(self.dispatcher.invoke, call, context)
        await send_response(send, response, head=http_method == "HEAD")


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
