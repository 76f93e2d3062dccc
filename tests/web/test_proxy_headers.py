"""X-Forwarded-For and -Proto count only when a trusted proxy sends them."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from passport.app import create_app
from passport.config import Settings
from passport.services import Services
from passport.web.middleware import ProxyHeadersMiddleware


class Recorder:
    """An ASGI app that remembers the client address and scheme it was given."""

    def __init__(self) -> None:
        self.client: Any = None
        self.scheme: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.client = scope.get("client")
        self.scheme = scope.get("scheme")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def seen_by_app(
    trusted: tuple[str, ...], peer: str, headers: list[tuple[str, str]]
) -> Recorder:
    recorder = Recorder()
    app = ProxyHeadersMiddleware(recorder, trusted=trusted)
    transport = httpx.ASGITransport(app=app, client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://passport.test") as client:
        await client.get("/", headers=headers)
    return recorder


async def test_trusted_proxy_gives_the_client_address_and_scheme() -> None:
    seen = await seen_by_app(
        ("10.0.0.1",),
        "10.0.0.1",
        [("x-forwarded-for", "198.51.100.9"), ("x-forwarded-proto", "https")],
    )
    assert seen.client[0] == "198.51.100.9"
    assert seen.scheme == "https"


async def test_untrusted_peer_cannot_claim_another_address_or_scheme() -> None:
    seen = await seen_by_app(
        ("10.0.0.1",),
        "203.0.113.7",
        [("x-forwarded-for", "198.51.100.9"), ("x-forwarded-proto", "https")],
    )
    assert seen.client[0] == "203.0.113.7"
    assert seen.scheme == "http"


async def test_nearest_untrusted_hop_is_the_client() -> None:
    seen = await seen_by_app(
        ("10.0.0.0/8",),
        "10.0.0.1",
        [("x-forwarded-for", "6.6.6.6, 198.51.100.9, 10.0.0.2")],
    )
    assert seen.client[0] == "198.51.100.9"


async def test_a_hop_added_as_a_second_header_line_is_not_overridden_by_the_first() -> None:
    # HAProxy appends its own X-Forwarded-For line after the one the client sent.
    seen = await seen_by_app(
        ("10.0.0.1",),
        "10.0.0.1",
        [("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.9")],
    )
    assert seen.client[0] == "198.51.100.9"


async def test_network_and_ipv6_trust() -> None:
    seen = await seen_by_app(("fd00::/8",), "fd00::1", [("x-forwarded-for", "2001:db8::5")])
    assert seen.client[0] == "2001:db8::5"


async def test_wildcard_trusts_every_peer() -> None:
    seen = await seen_by_app(("*",), "203.0.113.7", [("x-forwarded-for", "198.51.100.9")])
    assert seen.client[0] == "198.51.100.9"


@pytest.mark.parametrize("proto", ["ftp", "", "HTTPS, http"])
async def test_unknown_forwarded_proto_is_ignored(proto: str) -> None:
    seen = await seen_by_app(("10.0.0.1",), "10.0.0.1", [("x-forwarded-proto", proto)])
    assert seen.scheme == "http"


async def test_no_forwarded_for_keeps_the_peer() -> None:
    seen = await seen_by_app(("10.0.0.1",), "10.0.0.1", [])
    assert seen.client[0] == "10.0.0.1"


def access_log_clients(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["client"] for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("peer", "expected"), [("10.0.0.1", "198.51.100.9"), ("203.0.113.7", "203.0.113.7")]
)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_app_logs_the_forwarded_client_only_from_a_trusted_proxy(
    settings: Settings,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    peer: str,
    expected: str,
) -> None:
    behind_proxy = Settings(
        home=settings.home,
        database_url=settings.database_url,
        public_url="https://passport.test",
        forwarded_allow_ips="10.0.0.1",
        log_format="json",
    )
    app = create_app(behind_proxy, services)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # where the access log writes
    transport = httpx.ASGITransport(app=app, client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as client:
        await client.get("/healthz", headers={"x-forwarded-for": "198.51.100.9"})
    assert access_log_clients(stream) == [expected]
