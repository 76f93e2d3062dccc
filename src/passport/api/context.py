"""What a controller method learns about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RequestContext:
    """The request as the identity layer may see it: who asks, from where, how."""

    request_id: str
    client_address: str
    http_method: str
    public_url: str
