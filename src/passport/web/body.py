"""Reading a request body in full, up to a limit, from the ASGI receive channel."""

from __future__ import annotations

from starlette.types import Receive, Scope


class BodyTooLargeError(Exception):
    """The body is larger than the limit."""


def header(scope: Scope, name: bytes) -> str:
    """The first value of a request header (latin-1 decoded), or ''."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body; BodyTooLargeError past `limit` bytes (checked before reading)."""
    declared = header(scope, b"content-length")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
