"""Every response carries an X-Request-Id and Passport's security headers, once each."""

from __future__ import annotations

import httpx
import pytest

from passport.app import create_app
from passport.config import Settings
from passport.services import Services

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
REQUESTS = [
    ("GET", "/Service/getApplication?name=Passport"),
    ("GET", "/Service/getApplication?name=Passport&callback=cb"),
    ("GET", "/Service/getApplication"),
    ("HEAD", "/Service/getApplication?name=Passport"),
    ("POST", "/Service/getApplication"),
    ("PUT", "/Service/getApplication"),
    ("GET", "/Nope/x"),
    ("GET", "/healthz"),
    ("POST", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("OPTIONS", "/Service/getApplication"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_every_response_has_a_request_id_and_the_security_headers_once(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code < 500
    assert len(response.headers.get_list("x-request-id")) == 1
    assert len(response.headers["x-request-id"]) >= 16
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], name
    assert response.headers.get_list("strict-transport-security") == [
        "max-age=63072000; includeSubDomains"
    ]


async def test_each_response_has_its_own_request_id(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


async def test_a_request_id_sent_by_the_client_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"x-request-id": "attacker-chosen"})
    assert response.headers["x-request-id"] != "attacker-chosen"


async def test_server_header_names_passport_once(client: httpx.AsyncClient) -> None:
    response = await client.get("/Service/Index")
    (server,) = response.headers.get_list("server")
    assert server.startswith("Passport/")


async def test_plain_http_public_url_sends_no_hsts(settings: Settings, services: Services) -> None:
    plain = Settings(
        home=settings.home,
        database_url=settings.database_url,
        public_url="http://passport.test",
        server_header=False,
    )
    transport = httpx.ASGITransport(app=create_app(plain, services), client=("10.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://passport.test") as client:
        response = await client.get("/Service/Index")
    assert "strict-transport-security" not in response.headers
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
