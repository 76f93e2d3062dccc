"""GET, WSDL, methods, the Server header and the metrics route label of SOAP endpoints."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from lxml import etree

from passport import __version__
from passport.app import create_app
from passport.config import Settings

from .conftest import PUBLIC_URL, client_for
from .echo import ECHO_NS, EchoService
from .support import envelope, post

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
ADDRESSES = {
    "1.1": "{http://schemas.xmlsoap.org/wsdl/soap/}address",
    "1.2": "{http://schemas.xmlsoap.org/wsdl/soap12/}address",
}


async def test_get_redirects_to_the_wsdl_without_trusting_the_host_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/echo", headers={"host": "evil.example"})
    assert response.status_code == 302
    assert response.headers["location"] == "/echo?wsdl"


async def test_wsdl_names_the_configured_public_address(client: httpx.AsyncClient) -> None:
    response = await client.get("/echo?wsdl", headers={"host": "evil.example"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{WSDL_NS}}}definitions"
    locations = {
        version: [element.get("location") for element in root.iter(name)]
        for version, name in ADDRESSES.items()
    }
    assert locations == {"1.1": [f"{PUBLIC_URL}/echo"], "1.2": [f"{PUBLIC_URL}/echo"]}


async def test_head_of_the_wsdl_has_no_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/echo?wsdl")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


@pytest.mark.parametrize("query", ["xsd=other.xsd", "WSDL", "wsdl=1"])
async def test_unknown_query_is_404(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/echo?{query}")
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(
    client: httpx.AsyncClient, echo: EchoService, method: str
) -> None:
    response = await client.request(method, "/echo", content=envelope("1.1"))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert echo.calls == 0


async def test_the_envelope_api_still_answers_everything_else(client: httpx.AsyncClient) -> None:
    response = await client.get("/echo/nothing")
    assert response.status_code == 404
    assert response.json()["ClientExceptions"][0]["Source"] == "url"


@pytest.mark.parametrize(
    ("method", "url", "content"),
    [
        ("POST", "/echo", envelope("1.1")),
        ("POST", "/echo", b"garbage"),
        ("GET", "/echo?wsdl", None),
        ("GET", "/echo", None),
    ],
)
async def test_soap_answers_name_passport_and_the_service_once(
    client: httpx.AsyncClient, method: str, url: str, content: bytes | None
) -> None:
    headers = {"content-type": "text/xml"} if content is not None else {}
    response = await client.request(method, url, content=content, headers=headers)
    assert response.headers.get_list("server") == [f"Passport/{__version__} Echo/1.0"]


async def test_other_answers_name_passport_alone(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.headers.get_list("server") == [f"Passport/{__version__}"]


async def test_server_header_can_be_turned_off(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(server_header=False))
    async with client_for(app) as client:
        soap = await post(client, "1.1", envelope("1.1"))
        wsdl = await client.get("/echo?wsdl")
        health = await client.get("/healthz")
    assert soap.status_code == 200
    for response in (soap, wsdl, health):
        assert "server" not in response.headers


async def test_metrics_label_soap_routes_by_operation_and_nothing_unbounded(
    client: httpx.AsyncClient,
) -> None:
    await post(client, "1.1", envelope("1.1"))
    await post(client, "1.2", envelope("1.2", f'<e:Refuse xmlns:e="{ECHO_NS}"/>'))
    for name in ("Shout", "Whisper"):
        await post(client, "1.2", envelope("1.2", f'<e:{name} xmlns:e="{ECHO_NS}"/>'))
    await post(client, "1.1", b"garbage")
    await client.get("/echo?wsdl")
    exposition = (await client.get("/metrics")).text
    for label in ("soap:/echo:Echo", "soap:/echo:Refuse", "soap:/echo:unknown", "soap:/echo:wsdl"):
        assert f'route="{label}"' in exposition
    assert "Shout" not in exposition
    assert "Whisper" not in exposition
