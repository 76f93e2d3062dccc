"""Hostile messages: DOCTYPEs (entity bombs, XXE), deep nesting, oversized bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from passport.app import create_app
from passport.config import Settings

from .conftest import client_for, echo_service
from .echo import ECHO_NS, EchoService
from .support import CONTENT_TYPES, NAMESPACES, envelope, expected_code, post, read_fault

VERSIONS = ["1.1", "1.2"]
DOCTYPE_REFUSED = "DOCTYPE is not allowed in a SOAP message"

LOLS = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(2, 10))
BILLION_LAUGHS = f'<!DOCTYPE lolz [<!ENTITY lol1 "lol">{LOLS}]>'
XXE = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
PARAMETER_XXE = '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
EXTERNAL_DTD = '<!DOCTYPE x SYSTEM "file:///etc/passwd">'


def with_doctype(version: str, doctype: str, text: str, prefix: str = "") -> bytes:
    """An echo request preceded by a DOCTYPE (after `prefix`), echoing `text`."""
    body = f'<e:Echo xmlns:e="{ECHO_NS}"><e:text>{text}</e:text></e:Echo>'
    message = envelope(version, body).decode()
    declaration, rest = message.split("?>", 1)
    return f"{declaration}?>{prefix}{doctype}{rest}".encode()


@pytest.mark.parametrize(
    ("doctype", "text"),
    [
        (BILLION_LAUGHS, "&lol9;"),
        (XXE, "&xxe;"),
        (PARAMETER_XXE, "x"),
        (EXTERNAL_DTD, "x"),
        ("<!DOCTYPE x>", "x"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
async def test_any_doctype_is_refused_and_nothing_is_expanded_or_read(
    client: httpx.AsyncClient, echo: EchoService, version: str, doctype: str, text: str
) -> None:
    response = await post(client, version, with_doctype(version, doctype, text))
    fault = read_fault(response, version)
    assert fault.code == expected_code(version, "Sender")
    assert fault.reason == DOCTYPE_REFUSED
    assert b"lollol" not in response.content
    assert b"root:" not in response.content
    assert echo.calls == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_doctype_after_a_comment_with_markup_is_still_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    message = with_doctype(version, XXE, "&xxe;", prefix="<!-- <a> -->")
    response = await post(client, version, message)
    assert read_fault(response, version).reason == DOCTYPE_REFUSED
    assert b"root:" not in response.content
    assert echo.calls == 0


def nested(version: str, depth: int) -> bytes:
    """An echo request whose deepest element is `depth` levels below the document root.

    Envelope, Body and Echo are levels 1 to 3; the text element nests the rest.
    """
    inner = depth - 3
    body = (
        f'<e:Echo xmlns:e="{ECHO_NS}">'
        + "<e:text>" * inner
        + "x"
        + "</e:text>" * inner
        + "</e:Echo>"
    )
    return envelope(version, body)


@pytest.mark.parametrize("version", VERSIONS)
async def test_64_levels_are_accepted(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    response = await post(client, version, nested(version, 64))
    assert response.status_code == 200
    assert echo.calls == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_65_levels_are_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    response = await post(client, version, nested(version, 65))
    fault = read_fault(response, version)
    assert fault.code == expected_code(version, "Sender")
    assert fault.reason == "Message nested deeper than 64 levels"
    assert echo.calls == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_nesting_past_the_parsers_own_limit_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    response = await post(client, version, nested(version, 5000))
    fault = read_fault(response, version)
    assert fault.code == expected_code(version, "Sender")
    assert fault.reason == "Message exceeds the parser's limits"
    assert "depth" in (fault.detail_entry("ParseError").text or "")
    assert echo.calls == 0


LIMIT = 2048


@pytest.fixture
async def small_client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[httpx.AsyncClient, EchoService]]:
    """A client of an app whose SOAP bodies may be at most LIMIT bytes."""
    app = create_app(make_settings(soap_max_bytes=LIMIT))
    async with client_for(app) as client:
        yield client, echo_service(app)


def padded(version: str, size: int) -> bytes:
    """An echo request of exactly `size` bytes."""
    base = envelope(version, f'<e:Echo xmlns:e="{ECHO_NS}"><e:text></e:text></e:Echo>')
    filler = b"x" * (size - len(base))
    return base.replace(b"<e:text></e:text>", b"<e:text>" + filler + b"</e:text>")


@pytest.mark.parametrize("version", VERSIONS)
async def test_body_at_the_limit_is_served(
    small_client: tuple[httpx.AsyncClient, EchoService], version: str
) -> None:
    client, echo = small_client
    response = await post(client, version, padded(version, LIMIT))
    assert response.status_code == 200
    assert echo.calls == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_body_past_the_limit_is_413_with_a_fault(
    small_client: tuple[httpx.AsyncClient, EchoService], version: str
) -> None:
    client, echo = small_client
    response = await post(client, version, padded(version, LIMIT + 1))
    assert response.status_code == 413
    fault = read_fault(response, version)
    assert fault.code == expected_code(version, "Sender")
    assert fault.reason == f"Message larger than {LIMIT} bytes"
    assert echo.calls == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_streamed_body_past_the_limit_is_413_without_content_length(
    small_client: tuple[httpx.AsyncClient, EchoService], version: str
) -> None:
    client, echo = small_client
    message = padded(version, LIMIT * 3)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(message), 512):
            yield message[start : start + 512]

    response = await client.post(
        "/echo", content=chunks(), headers={"content-type": CONTENT_TYPES[version]}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert read_fault(response, version).reason == f"Message larger than {LIMIT} bytes"
    assert echo.calls == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_declared_length_past_the_limit_is_refused_before_reading(
    small_client: tuple[httpx.AsyncClient, EchoService], version: str
) -> None:
    client, echo = small_client
    received: list[bytes] = []

    async def chunks() -> AsyncIterator[bytes]:
        received.append(b"read")
        yield envelope(version)

    response = await client.post(
        "/echo",
        content=chunks(),
        headers={"content-type": CONTENT_TYPES[version], "content-length": str(LIMIT + 1)},
    )
    assert response.status_code == 413
    assert received == []
    assert NAMESPACES[version].encode() in response.content
    assert echo.calls == 0
