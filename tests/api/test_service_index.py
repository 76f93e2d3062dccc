"""`Service/Index`: what the server is, with links from PASSPORT_PUBLIC_URL only."""

from __future__ import annotations

import httpx
import pytest

from envelope_shape import assert_envelope
from passport import __version__

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

HOSTILE_HOST = "evil.example"


@pytest.mark.parametrize("path", ["/", "/Service", "/Service/Index", "/sErViCe/iNdEx"])
async def test_index_names_the_server_and_its_version(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert_envelope(body)
    assert body["Success"] is True
    assert body["Data"]["Name"] == "Passport"
    assert body["Data"]["Version"] == __version__


async def test_index_links_are_absolute_under_the_public_url(client: httpx.AsyncClient) -> None:
    links = (await client.get("/Service/Index")).json()["Data"]["Links"]
    assert links["Self"] == "https://passport.test/Service/Index"
    assert links["GetApplication"] == ("https://passport.test/Service/getApplication?name=Passport")
    assert links["OpenAPI"] == "https://passport.test/openapi.json"
    assert links["Health"] == "https://passport.test/healthz"
    assert links["Ready"] == "https://passport.test/readyz"
    assert links["Metrics"] == "https://passport.test/metrics"


async def test_links_ignore_a_hostile_host_header(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "http://evil.example/Service/Index",
        headers={
            "host": HOSTILE_HOST,
            "x-forwarded-host": HOSTILE_HOST,
            "forwarded": f"host={HOSTILE_HOST};proto=http",
        },
    )
    assert response.status_code == 200
    assert HOSTILE_HOST not in response.text
    assert all(
        link.startswith("https://passport.test/")
        for link in response.json()["Data"]["Links"].values()
    )


@pytest.mark.parametrize(
    "path", ["/healthz/", "/readyz/", "/metrics/", "/openapi.json/", "/Service/Index/", "//"]
)
async def test_no_answer_echoes_a_hostile_host_header(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"host": HOSTILE_HOST})
    assert response.status_code < 500
    assert HOSTILE_HOST not in response.text
    assert all(HOSTILE_HOST not in value for value in response.headers.values())


async def test_openapi_server_is_the_public_url_whatever_the_host(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json", headers={"host": HOSTILE_HOST})
    assert response.json()["servers"] == [{"url": "https://passport.test"}]
