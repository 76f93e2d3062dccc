"""Random paths, parameters, headers, callbacks and bodies: always an envelope, never a 500."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_from_bytes, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envelope_shape import assert_envelope
from passport.app import create_app
from passport.config import Settings
from passport.services import Services

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CALLBACK = re.compile(r"[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,3}", re.ASCII)
OPS_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json"}
# Methods that are cheap to call with nonsense: no password hashing on the way to an error.
POST_TARGETS = [
    "/Service/getApplication",
    "/Service/Index",
    "/Nope/x",
    "/Account/logout",
    "/Account/register",
    "/Account/resetPassword",
    "/Admin/createUser",
    "/Session/validate",
    "/Permission/check",
]

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60
).map(lambda value: value.encode("latin-1"))
known_names = st.sampled_from(
    ["name", "Name", "NAME", "callback", "CallBack", "token", "permission", "x", ""]
)
segments = st.one_of(
    st.sampled_from(
        ["Service", "service", "getApplication", "Index", "Base", "__init__", "..", "%00", ""]
    ),
    text.map(lambda value: quote(value, safe="")),
    st.binary(max_size=10).map(lambda value: quote_from_bytes(value, safe="")),
)
paths = st.lists(segments, max_size=4).map(lambda parts: "/" + "/".join(parts))
queries = st.one_of(
    st.lists(st.tuples(known_names | text, text), max_size=6).map(urlencode),
    st.lists(st.binary(max_size=12), max_size=4).map(
        lambda values: "&".join(f"name={quote_from_bytes(v)}" for v in values)
    ),
    st.text(max_size=40).map(lambda value: quote(value, safe="=&%")),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=8,
)
json_documents = st.one_of(
    st.dictionaries(known_names | text, json_values, max_size=5),
    json_values,
)
header_names = st.sampled_from(
    [
        "content-type",
        "origin",
        "referer",
        "cookie",
        "authorization",
        "x-forwarded-for",
        "x-forwarded-proto",
        "accept",
        "host",
    ]
)


class Api:
    """A synchronous client of one app, for Hypothesis; exceptions that escape fail the test."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        absolute = f"https://passport.test{url}"
        return self.loop.run_until_complete(self.client.request(method, absolute, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@pytest.fixture
def api(settings: Settings, services: Services) -> Iterator[Api]:
    """One app per test, shared by its examples."""
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("203.0.113.7", 1))
    client = httpx.AsyncClient(transport=transport, base_url="https://passport.test")
    api = Api(client)
    yield api
    api.loop.run_until_complete(client.aclose())
    api.loop.close()


def envelope_of(response: httpx.Response) -> dict[str, Any]:
    """The envelope a response carries, as JSON or inside a JSONP call."""
    assert response.status_code != 500, response.text
    assert response.status_code < 500, response.text
    content_type = response.headers["content-type"]
    if content_type.startswith("application/javascript"):
        assert response.status_code == 200
        match = re.fullmatch(r"/\*\*/([\w$.]+)\((.*)\);", response.text, re.DOTALL)
        assert match is not None, response.text
        assert CALLBACK.fullmatch(match.group(1))
        body = json.loads(match.group(2))
    else:
        assert content_type == "application/json; charset=utf-8", content_type
        body = json.loads(response.text)
    assert_envelope(body)
    assert isinstance(body, dict)
    return body


@FUZZ
@given(path=paths, query=queries)
def test_random_get_is_an_envelope(api: Api, path: str, query: str) -> None:
    response = api.get(f"{path}?{query}" if query else path)
    if response.url.path in OPS_PATHS:
        assert response.status_code < 500
        return
    envelope_of(response)


@FUZZ
@given(query=queries, method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]))
def test_random_query_on_get_application_is_an_envelope(api: Api, query: str, method: str) -> None:
    response = api.request(method, f"/Service/getApplication?{query}")
    if method == "HEAD":
        assert response.status_code < 500
        assert response.content == b""
        return
    envelope_of(response)


@FUZZ
@given(callback=st.one_of(text, st.from_regex(CALLBACK, fullmatch=True)), name=text)
def test_callback_is_used_exactly_when_it_is_a_plain_name(
    api: Api, callback: str, name: str
) -> None:
    response = api.get("/Service/getApplication", params={"name": name, "callback": callback})
    body = envelope_of(response)
    if CALLBACK.fullmatch(callback):
        assert response.text.startswith(f"/**/{callback}(")
    else:
        assert response.status_code == 400
        assert body["ClientExceptions"][0]["Number"] == "5"


@FUZZ
@given(target=st.sampled_from(POST_TARGETS), document=json_documents)
def test_random_json_body_is_an_envelope(api: Api, target: str, document: Any) -> None:
    response = api.post(
        target, content=json.dumps(document).encode(), headers={"content-type": "application/json"}
    )
    envelope_of(response)
    if not isinstance(document, dict):
        assert response.status_code in (400, 404, 405)


@FUZZ
@given(target=st.sampled_from(POST_TARGETS), raw=st.binary(max_size=200), json_type=st.booleans())
def test_random_body_bytes_are_an_envelope(
    api: Api, target: str, raw: bytes, json_type: bool
) -> None:
    content_type = "application/json" if json_type else "application/x-www-form-urlencoded"
    response = api.post(target, content=raw, headers={"content-type": content_type})
    envelope_of(response)


@FUZZ
@given(
    path=st.sampled_from(["/Service/getApplication?name=Passport", "/Nope/x", "/Account/whoAmI"]),
    method=st.sampled_from(["GET", "POST"]),
    headers=st.dictionaries(header_names, header_values, max_size=4),
)
def test_random_header_values_are_an_envelope(
    api: Api, path: str, method: str, headers: dict[str, bytes]
) -> None:
    response = api.request(method, path, headers=headers)
    envelope_of(response)
    assert response.headers["x-request-id"]
