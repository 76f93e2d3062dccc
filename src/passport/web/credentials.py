"""Reading credentials and origins from request headers: cookie, Basic, Origin/Referer."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from starlette.types import Scope

SESSION_COOKIE = "__Host-passport"
# Exactly these attributes: the server enforces the timeouts, so no Expires or Max-Age.
SESSION_COOKIE_ATTRIBUTES = "Secure; HttpOnly; SameSite=Lax; Path=/"


def session_cookie(scope: Scope) -> str | None:
    """The value of the `__Host-passport` cookie, or None."""
    for key, value in scope["headers"]:
        if key != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            name, _, cookie_value = pair.strip().partition("=")
            if name == SESSION_COOKIE:
                return cookie_value.strip().strip('"') or None
    return None


def set_session_cookie(token: str) -> tuple[str, str]:
    """The Set-Cookie header that gives the browser a session token."""
    return ("set-cookie", f"{SESSION_COOKIE}={token}; {SESSION_COOKIE_ATTRIBUTES}")


def clear_session_cookie() -> tuple[str, str]:
    """The Set-Cookie header that removes the session cookie."""
    return ("set-cookie", f"{SESSION_COOKIE}=; {SESSION_COOKIE_ATTRIBUTES}; Max-Age=0")


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """`(user, password)` from an `Authorization: Basic ...` header, or None."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, separator, password = decoded.partition(":")
    if not separator:
        return None
    return user, password


def request_origin(origin: str, referer: str) -> tuple[str | None, bool]:
    """The request's origin from Origin, else from Referer; and whether Referer gave it."""
    if origin:
        return origin.strip().lower(), False
    if referer:
        parts = urlsplit(referer.strip())
        if parts.scheme in ("http", "https") and parts.hostname:
            try:
                port = parts.port
            except ValueError:
                return None, True
            default = {"http": 80, "https": 443}[parts.scheme]
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            netloc = host if port in (None, default) else f"{host}:{port}"
            return f"{parts.scheme}://{netloc}", True
    return None, False
