"""The envelope every answer is: `{Success, LoggedIn, Data, ClientExceptions, ServerExceptions}`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from passport.api.errors import ClientError

# The spacing of the original service's answers (and of Python's json module): ", " and ": ".
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_JSONP_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@dataclass(slots=True)
class ApiResponse:
    """An envelope answer ready to send: HTTP status, body, content type, extra headers."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def envelope(
    *,
    success: bool,
    logged_in: bool = False,
    data: Any = None,
    client_exceptions: list[dict[str, str]] | None = None,
    server_exceptions: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The envelope object, with its five keys in their documented order."""
    return {
        "Success": success,
        "LoggedIn": logged_in,
        "Data": data,
        "ClientExceptions": client_exceptions or [],
        "ServerExceptions": server_exceptions or [],
    }


def render(body: dict[str, Any], status: int, callback: str | None = None) -> ApiResponse:
    """Serialise an envelope as JSON, or as a JSONP call (always HTTP 200)."""
    text = _JSON.encode(body)
    if callback is None:
        return ApiResponse(status, text.encode("utf-8"), "application/json")
    # U+2028/2029 and markup characters are escaped so the payload is inert in a <script>.
    safe = text.translate(_JSONP_ESCAPES).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    # X-Content-Type-Options: nosniff comes with every response from the HTTP middleware.
    return ApiResponse(200, f"/**/{callback}({safe});".encode(), "application/javascript")


def client_error(
    error: ClientError, *, logged_in: bool = False, callback: str | None = None
) -> ApiResponse:
    """The envelope answer for one client error."""
    body = envelope(success=False, logged_in=logged_in, client_exceptions=[error.as_wire()])
    response = render(body, error.status, callback)
    response.headers.extend(error.headers())
    return response


def server_error(
    reference: str, *, logged_in: bool = False, callback: str | None = None
) -> ApiResponse:
    """The envelope answer for an internal error: a reference id, never internals."""
    body = envelope(
        success=False,
        logged_in=logged_in,
        server_exceptions=[{"Message": f"Internal error; reference {reference}"}],
    )
    return render(body, 500, callback)
