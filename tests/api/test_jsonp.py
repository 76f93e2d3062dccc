"""JSONP: a valid callback wraps the envelope; anything else is refused before it runs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from envelope_shape import assert_envelope, client_exception

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

URL = "/Service/getApplication"


def unwrap(text: str, callback: str) -> Any:
    prefix, suffix = f"/**/{callback}(", ");"
    assert text.startswith(prefix)
    assert text.endswith(suffix)
    return json.loads(text[len(prefix) : -len(suffix)])


@pytest.mark.parametrize(
    "callback",
    ["cb", "handle_1", "$", "_", "jQuery123_456", "app.handlers.done", "a.b.c.d", "A" * 64],
)
async def test_valid_callback_wraps_the_envelope_as_javascript(
    client: httpx.AsyncClient, callback: str
) -> None:
    response = await client.get(URL, params={"name": "Passport", "callback": callback})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = unwrap(response.text, callback)
    assert_envelope(body)
    assert body["Data"]["Application"] == {"ID": 1}


@pytest.mark.parametrize("name", ["callback", "Callback", "CALLBACK"])
async def test_callback_parameter_name_matches_in_any_case(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(URL, params={"name": "Passport", name: "cb"})
    assert response.status_code == 200
    assert response.text.startswith("/**/cb(")


@pytest.mark.parametrize(
    ("params", "number"),
    [
        ({"name": "Nope"}, "2"),
        ({}, "1"),
        ({"name": "a" * 300}, "3"),
    ],
)
async def test_errors_under_jsonp_are_status_200_with_the_error_in_the_envelope(
    client: httpx.AsyncClient, params: dict[str, str], number: str
) -> None:
    response = await client.get(URL, params={**params, "callback": "cb"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert client_exception(unwrap(response.text, "cb"))["Number"] == number


@pytest.mark.parametrize(
    "callback",
    [
        "alert(1)//",
        "a" * 500,
        "a" * 65,
        "a..b",
        "1abc",
        "",
        "a.",
        ".a",
        "a.b.c.d.e",
        "a b",
        "a-b",
        "a;b",
        "a[0]",
        "é",
        "a\u2028b",
        "</script>",
    ],
)
async def test_invalid_callback_is_400_with_number_5(
    client: httpx.AsyncClient, callback: str
) -> None:
    response = await client.get(URL, params={"name": "Passport", "callback": callback})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    error = client_exception(response.json())
    assert error["Number"] == "5"
    assert error["Source"] == "callback"
    assert "(" not in response.text.split('"ClientExceptions"')[0]


async def test_jsonp_on_post_is_number_6(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, params={"callback": "cb"}, data={"name": "Passport"})
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "6"
    assert error["Source"] == "callback"


async def test_jsonp_callback_in_a_post_body_is_number_6(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"name": "Passport", "callback": "cb"})
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "6"


async def test_jsonp_of_a_method_that_is_not_read_only_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/Account/logout", params={"callback": "cb"})
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "6"


async def test_jsonp_payload_cannot_close_a_script_element(client: httpx.AsyncClient) -> None:
    name = "</script><script>alert(1)</script>\u2028\u2029&"
    response = await client.get(URL, params={"name": name, "callback": "cb"})
    assert response.status_code == 200
    for unsafe in ("<", ">", "&", "\u2028", "\u2029"):
        assert unsafe not in response.text
    assert client_exception(unwrap(response.text, "cb"))["Value"] == name


async def test_head_with_callback_answers_javascript_headers_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    get = await client.get(URL, params={"name": "Passport", "callback": "cb"})
    head = await client.head(URL, params={"name": "Passport", "callback": "cb"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == "application/javascript; charset=utf-8"
    assert head.headers["content-length"] == str(len(get.content))
