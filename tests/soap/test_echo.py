"""A registered service answers in the version it was asked, with what it was sent."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from lxml import etree

from passport.app import create_app
from passport.config import Settings
from passport.soap.service import SOAP12_ENV

from .conftest import CLIENT_ADDRESS, PUBLIC_URL, client_for, echo_service
from .echo import ECHO_NS, REFUSE_TEXT, UNDERSTOOD, EchoService
from .support import CONTENT_TYPES, NAMESPACES, envelope, post

VERSIONS = ["1.1", "1.2"]
REFUSE_BODY = f'<e:Echo xmlns:e="{ECHO_NS}"><e:text>{REFUSE_TEXT}</e:text></e:Echo>'


def echoed_text(response: httpx.Response, version: str) -> str:
    """The text of the EchoResponse in a response envelope of `version`."""
    root = etree.fromstring(response.content)
    namespace = NAMESPACES[version]
    assert root.tag == f"{{{namespace}}}Envelope"
    body = root.find(f"{{{namespace}}}Body")
    assert body is not None
    assert len(body) == 1
    assert body[0].tag == f"{{{ECHO_NS}}}EchoResponse"
    return body[0].findtext(f"{{{ECHO_NS}}}text") or ""


@pytest.mark.parametrize("version", VERSIONS)
async def test_echo_answers_in_the_version_asked(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    response = await post(client, version, envelope(version))
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPES[version]
    assert echoed_text(response, version) == "hello"
    assert echo.calls == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_service_sees_the_request_as_sent(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    header = f'<h:Understood xmlns:h="{ECHO_NS}" soap:mustUnderstand="1">token</h:Understood>'
    response = await post(client, version, envelope(version, header=header))
    assert response.status_code == 200
    (request,) = echo.requests
    assert request.version == version
    assert request.body.tag == f"{{{ECHO_NS}}}Echo"
    assert [etree.QName(block).localname for block in request.headers] == [UNDERSTOOD]
    assert request.document.tag == f"{{{NAMESPACES[version]}}}Envelope"
    assert request.client_address == CLIENT_ADDRESS
    assert request.path == "/echo"
    assert request.endpoint_url == f"{PUBLIC_URL}/echo"
    assert request.request_id == response.headers["x-request-id"]


async def test_non_ascii_text_survives_the_round_trip(client: httpx.AsyncClient) -> None:
    text = "Grüße, 東京 — ok"
    body = f'<e:Echo xmlns:e="{ECHO_NS}"><e:text>{text}</e:text></e:Echo>'
    response = await post(client, "1.2", envelope("1.2", body))
    assert echoed_text(response, "1.2") == text


async def test_soap12_action_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    content_type = 'application/soap+xml; charset=utf-8; action="urn:passport-test:echo#Echo"'
    response = await post(client, "1.2", envelope("1.2"), content_type)
    assert response.status_code == 200
    assert echoed_text(response, "1.2") == "hello"


@pytest.mark.parametrize(
    "content_type", ["text/xml", "TEXT/XML; Charset=UTF-8", "text/xml;charset=utf8"]
)
async def test_soap11_content_type_spellings_are_accepted(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await post(client, "1.1", envelope("1.1"), content_type)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("version", "attributes"),
    [
        ("1.1", 'soap:mustUnderstand="0"'),
        ("1.1", 'soap:mustUnderstand="1" soap:actor="urn:some-other-node"'),
        ("1.2", 'soap:mustUnderstand="false"'),
        ("1.2", f'soap:mustUnderstand="true" soap:role="{SOAP12_ENV}/role/none"'),
        ("1.2", 'soap:mustUnderstand="true" soap:role="urn:some-other-node"'),
        ("1.2", ""),
    ],
)
async def test_headers_not_meant_for_passport_are_ignored(
    client: httpx.AsyncClient, echo: EchoService, version: str, attributes: str
) -> None:
    header = f'<x:Other xmlns:x="urn:other" {attributes}>x</x:Other>'
    response = await post(client, version, envelope(version, header=header))
    assert response.status_code == 200
    assert echo.calls == 1


async def test_soap11_allows_qualified_elements_after_the_body(
    client: httpx.AsyncClient, echo: EchoService
) -> None:
    message = envelope("1.1").replace(
        b"</soap:Envelope>", b'<x:Trailer xmlns:x="urn:other"/></soap:Envelope>'
    )
    response = await post(client, "1.1", message)
    assert response.status_code == 200
    assert echo.calls == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_service_runs_in_a_worker_thread_unless_it_declares_itself_inline(
    make_settings: Callable[..., Settings], version: str
) -> None:
    app = create_app(make_settings(soap_services=["soap.echo:create", "soap.echo:create_inline"]))
    threaded, inline = echo_service(app, "/echo"), echo_service(app, "/inline-echo")
    headers = {"content-type": CONTENT_TYPES[version]}
    async with client_for(app) as client:
        loop_thread = threading.get_ident()
        answers = [
            await client.post(path, content=envelope(version), headers=headers)
            for path in ("/echo", "/inline-echo")
        ]
        faulted = await client.post(
            "/inline-echo", content=envelope(version, REFUSE_BODY), headers=headers
        )

    assert [echoed_text(answer, version) for answer in answers] == ["hello", "hello"]
    assert faulted.status_code == (500 if version == "1.1" else 400)
    assert len(threaded.threads) == 1
    assert loop_thread not in threaded.threads
    assert inline.threads == [loop_thread, loop_thread]
