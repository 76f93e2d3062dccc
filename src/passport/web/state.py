"""Per-request state shared between Passport's middleware and its endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Scope

STATE_KEY = "passport.request"


@dataclass(slots=True)
class RequestState:
    """What the middleware knows of a request, and the route label the endpoint sets."""

    request_id: str
    client_address: str
    route: str = "unmatched"


def request_state(scope: Scope) -> RequestState:
    """The RequestState the middleware put into this scope."""
    state: RequestState = scope[STATE_KEY]
    return state
