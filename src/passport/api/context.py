"""What a controller method learns about the request it serves, and what it asks back."""

from __future__ import annotations

from dataclasses import dataclass

from passport.identity.sessions import Session


@dataclass(slots=True)
class RequestContext:
    """The request as the API layer sees it: who asks, from where, with which credentials.

    The dispatcher resolves `session` from the cookie; a method that logs in or out sets
    `new_session_token` or `end_session`, and the HTTP layer turns those into cookies.
    """

    request_id: str
    client_address: str
    http_method: str
    public_url: str
    session_token: str | None = None
    basic_credentials: tuple[str, str] | None = None
    origin: str | None = None
    origin_from_referer: bool = False
    jsonp: bool = False
    session: Session | None = None
    new_session_token: str | None = None
    end_session: bool = False
    cors_origin: str | None = None

    @property
    def logged_in(self) -> bool:
        """Whether the request (or the method, by logging in) holds a live session."""
        return self.session is not None
