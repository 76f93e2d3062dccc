"""Routing: `/<Controller>/<method>` in any case; everything else is 'no such method'."""

from __future__ import annotations

import httpx
import pytest

from envelope_shape import assert_envelope, client_exception

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.mark.parametrize(
    "path",
    [
        "/Service/getApplication",
        "/service/getapplication",
        "/SERVICE/GETAPPLICATION",
        "/sErViCe/GeTaPpLiCaTiOn",
        "/Service/getApplication/",
    ],
)
async def test_controller_and_method_names_match_in_any_case(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, params={"name": "Passport"})
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}


@pytest.mark.parametrize("name", ["name", "Name", "NAME", "nAmE"])
async def test_argument_names_match_in_any_case(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get("/Service/getApplication", params={name: "Passport"})
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/Service/nope", "Service/nope"),
        ("/Nope/getApplication", "Nope/getApplication"),
        ("/Nope", "Nope/Index"),
        ("/Base/Index", "Base/Index"),
        ("/Base/getApplication", "Base/getApplication"),
        ("/Controller/Index", "Controller/Index"),
        ("/ServiceController/getApplication", "ServiceController/getApplication"),
        ("/Service/get_application", "Service/get_application"),
        ("/Service/__init__", "Service/__init__"),
        ("/Service/__class__", "Service/__class__"),
        ("/__class__/x", "__class__/x"),
        ("/Service/applications", "Service/applications"),
        ("/Service/name", "Service/name"),
    ],
)
async def test_unknown_controller_or_method_is_number_404_naming_it(
    client: httpx.AsyncClient, path: str, label: str
) -> None:
    response = await client.get(path, params={"name": "Passport"})
    assert response.status_code == 404
    assert client_exception(response.json()) == {
        "Message": f"No method '{label}' found.",
        "Source": "url",
        "Value": label,
        "Number": "404",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/Service/..%2F..",
        "/Service/../Index",
        "/Service/%2e%2e",
        "/..%2F..%2Fetc%2Fpasswd",
        "/Service/%00",
        "/Service/getApplication%00",
        "/%00/Index",
        "/Service/getApplication%0A",
        "/Service/get%20Application",
        "/Service/getApplication/extra",
        "/a/b/c/d",
        "/Service//getApplication",
        "/Service/%C3%A9",
        "/Service/%FF",
        "/" + "a" * 5000,
    ],
)
async def test_odd_paths_are_no_such_method_never_a_server_error(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, params={"name": "Passport"})
    assert response.status_code == 404
    error = client_exception(response.json())
    assert error["Number"] == "404"
    assert error["Source"] == "url"
    assert len(error["Value"]) <= 201


@pytest.mark.parametrize("verb", ["PUT", "DELETE", "PATCH"])
async def test_other_http_methods_are_405_with_an_allow_header(
    client: httpx.AsyncClient, verb: str
) -> None:
    response = await client.request(verb, "/Service/getApplication", params={"name": "x"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    error = client_exception(response.json())
    assert error["Number"] == "405"
    assert error["Source"] == "method"
    assert error["Value"] == verb


async def test_a_get_only_method_allows_get_and_head(client: httpx.AsyncClient) -> None:
    response = await client.post("/Service/Index")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert client_exception(response.json())["Number"] == "405"


async def test_a_post_only_method_answers_get_with_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/Account/login", params={"username": "a", "password": "b"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert client_exception(response.json())["Number"] == "405"


async def test_unknown_method_under_an_unusual_http_verb_is_still_404(
    client: httpx.AsyncClient,
) -> None:
    response = await client.request("DELETE", "/Nope/x")
    assert response.status_code == 404
    assert client_exception(response.json())["Value"] == "Nope/x"


async def test_head_answers_like_get_without_a_body(client: httpx.AsyncClient) -> None:
    get = await client.get("/Service/getApplication", params={"name": "Passport"})
    head = await client.head("/Service/getApplication", params={"name": "Passport"})
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    ignored = {"x-request-id", "date"}
    assert {k: v for k, v in head.headers.items() if k not in ignored} == {
        k: v for k, v in get.headers.items() if k not in ignored
    }
    assert head.headers["content-length"] == str(len(get.content))


async def test_head_of_an_error_answers_like_get_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    get = await client.get("/Service/getApplication", params={"name": "Nope"})
    head = await client.head("/Service/getApplication", params={"name": "Nope"})
    assert head.status_code == get.status_code == 404
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))


async def test_every_envelope_answer_is_utf8_json_and_never_cached(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/Service/Index", "/Nope/x", "/Service/getApplication"):
        response = await client.get(path)
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert_envelope(response.json())
