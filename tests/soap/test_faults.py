"""Every bad message gets its own fault, in the version asked, and never reaches the service."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from passport.soap.service import SOAP11_ENV, SOAP12_ENV

from .echo import ECHO_NS, EchoService
from .support import (
    ECHO,
    NAMESPACES,
    envelope,
    expected_code,
    expected_status,
    post,
    read_fault,
)

VERSIONS = ["1.1", "1.2"]


async def assert_refused(
    response: httpx.Response,
    echo: EchoService,
    version: str,
    reason: str,
    code: str = "Sender",
) -> None:
    """The response is a `code` fault saying `reason`, and the service was never called."""
    fault = read_fault(response, version)
    assert response.status_code == expected_status(version, code)
    assert fault.code == expected_code(version, code)
    assert fault.reason == reason
    assert echo.calls == 0


@pytest.mark.parametrize("content_type", ["", "application/json", "text/plain; charset=utf-8"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_wrong_or_missing_content_type_is_a_soap11_client_fault(
    client: httpx.AsyncClient, echo: EchoService, version: str, content_type: str
) -> None:
    response = await post(client, version, envelope(version), content_type)
    shown = content_type or "(none)"
    reason = (
        f'Unsupported Content-Type "{shown}": send text/xml (SOAP 1.1) or '
        "application/soap+xml (SOAP 1.2)"
    )
    await assert_refused(response, echo, "1.1", reason)


@pytest.mark.parametrize(
    ("version", "content_type", "reason"),
    [
        (
            "1.2",
            "text/xml; charset=utf-8",
            "Content-Type text/xml does not fit a SOAP 1.2 envelope: send application/soap+xml",
        ),
        (
            "1.1",
            "application/soap+xml",
            "Content-Type application/soap+xml does not fit a SOAP 1.1 envelope: send text/xml",
        ),
    ],
)
async def test_content_type_of_the_other_version_is_refused_in_the_envelopes_version(
    client: httpx.AsyncClient, echo: EchoService, version: str, content_type: str, reason: str
) -> None:
    response = await post(client, version, envelope(version), content_type)
    await assert_refused(response, echo, version, reason)


@pytest.mark.parametrize("version", VERSIONS)
async def test_charset_other_than_utf8_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    media_type = "text/xml" if version == "1.1" else "application/soap+xml"
    content = envelope(version).replace(b"utf-8", b"iso-8859-1")
    response = await post(client, version, content, f'{media_type}; charset="ISO-8859-1"')
    await assert_refused(response, echo, version, 'Unsupported charset "iso-8859-1": send UTF-8')


@pytest.mark.parametrize("version", VERSIONS)
async def test_xml_declared_in_another_encoding_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    content = envelope(version).replace(b'encoding="utf-8"', b'encoding="ISO-8859-1"')
    media_type = "text/xml" if version == "1.1" else "application/soap+xml"
    response = await post(client, version, content, media_type)
    await assert_refused(response, echo, version, 'Unsupported encoding "iso-8859-1": send UTF-8')


@pytest.mark.parametrize("version", VERSIONS)
async def test_utf16_message_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    content = envelope(version).decode().replace("utf-8", "utf-16").encode("utf-16")
    media_type = "text/xml" if version == "1.1" else "application/soap+xml"
    response = await post(client, version, content, media_type)
    await assert_refused(response, echo, version, 'Unsupported encoding "utf-16": send UTF-8')


@pytest.mark.parametrize("content", [b"", b"  \r\n "])
@pytest.mark.parametrize("version", VERSIONS)
async def test_empty_message_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str, content: bytes
) -> None:
    response = await post(client, version, content)
    await assert_refused(response, echo, version, "Empty message: the request has no body")


@pytest.mark.parametrize(
    ("content", "line", "column", "says"),
    [
        (b"this is not XML", 1, 1, "Start tag expected"),
        (b"<a>\n<b></a>", 2, 8, "Opening and ending tag mismatch"),
        (b"<a>caf\xe9</a>", 1, 7, "encoding"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
async def test_unparseable_message_names_line_and_column(
    client: httpx.AsyncClient,
    echo: EchoService,
    version: str,
    content: bytes,
    line: int,
    column: int,
    says: str,
) -> None:
    response = await post(client, version, content)
    await assert_refused(response, echo, version, "Unparseable message")
    error = read_fault(response, version).detail_entry("ParseError")
    assert (error.get("line"), error.get("column")) == (str(line), str(column))
    assert says in (error.text or "")


@pytest.mark.parametrize("version", VERSIONS)
async def test_truncated_message_is_unparseable(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    whole = envelope(version)
    response = await post(client, version, whole[: whole.index(b"</soap:Body>")])
    await assert_refused(response, echo, version, "Unparseable message")
    error = read_fault(response, version).detail_entry("ParseError")
    assert "Premature end of data" in (error.text or "")


@pytest.mark.parametrize("version", VERSIONS)
async def test_envelope_without_body_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    namespace = NAMESPACES[version]
    content = f'<s:Envelope xmlns:s="{namespace}"><s:Header/></s:Envelope>'.encode()
    response = await post(client, version, content)
    reason = "Envelope must hold an optional Header and a Body, not nothing"
    await assert_refused(response, echo, version, reason)


@pytest.mark.parametrize("version", VERSIONS)
async def test_body_before_header_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    namespace = NAMESPACES[version]
    content = (
        f'<s:Envelope xmlns:s="{namespace}"><s:Body>{ECHO}</s:Body><s:Header/></s:Envelope>'
    ).encode()
    response = await post(client, version, content)
    await assert_refused(
        response, echo, version, f'Envelope holds "{{{namespace}}}Header" after its Body'
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "Body is empty: it must hold one namespace-qualified element"),
        ("<!-- only a comment -->", "Body is empty: it must hold one namespace-qualified element"),
        (ECHO + ECHO, "Body holds 2 elements: it must hold exactly one"),
        ("just text", "Body holds text: it must hold one namespace-qualified element"),
        ("<Echo><text>hi</text></Echo>", 'Body element "Echo" must be namespace-qualified'),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
async def test_body_must_hold_exactly_one_qualified_element(
    client: httpx.AsyncClient, echo: EchoService, version: str, body: str, reason: str
) -> None:
    response = await post(client, version, envelope(version, body))
    await assert_refused(response, echo, version, reason)


@pytest.mark.parametrize("version", VERSIONS)
async def test_unqualified_header_block_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    response = await post(client, version, envelope(version, header="<Plain>x</Plain>"))
    await assert_refused(
        response, echo, version, 'Header block "Plain" must be namespace-qualified'
    )


async def test_soap12_refuses_elements_after_the_body(
    client: httpx.AsyncClient, echo: EchoService
) -> None:
    content = envelope("1.2").replace(
        b"</soap:Envelope>", b'<x:Trailer xmlns:x="urn:other"/></soap:Envelope>'
    )
    response = await post(client, "1.2", content)
    await assert_refused(
        response, echo, "1.2", 'Envelope holds "{urn:other}Trailer" after its Body'
    )


@pytest.mark.parametrize("version", VERSIONS)
async def test_processing_instruction_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    body = f'<e:Echo xmlns:e="{ECHO_NS}"><?render fast?><e:text>x</e:text></e:Echo>'
    response = await post(client, version, envelope(version, body))
    reason = "A SOAP message must not contain processing instructions"
    await assert_refused(response, echo, version, reason)


@pytest.mark.parametrize("version", VERSIONS)
async def test_unknown_namespace(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    body = '<o:Echo xmlns:o="urn:other"><o:text>hi</o:text></o:Echo>'
    response = await post(client, version, envelope(version, body))
    await assert_refused(response, echo, version, 'Unknown namespace "urn:other"')


@pytest.mark.parametrize("version", VERSIONS)
async def test_unknown_operation(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    body = f'<e:Shout xmlns:e="{ECHO_NS}"><e:text>hi</e:text></e:Shout>'
    response = await post(client, version, envelope(version, body))
    await assert_refused(response, echo, version, 'Unknown operation "Shout"')


@pytest.mark.parametrize(("version", "value"), [("1.1", "1"), ("1.2", "true"), ("1.2", "1")])
async def test_mandatory_header_no_one_understands_is_a_must_understand_fault(
    client: httpx.AsyncClient, echo: EchoService, version: str, value: str
) -> None:
    header = (
        f'<abc:Extension xmlns:abc="urn:ext" soap:mustUnderstand="{value}">x</abc:Extension>'
        f'<h:Understood xmlns:h="{ECHO_NS}" soap:mustUnderstand="{value}">y</h:Understood>'
        f'<soap:Other xmlns:soap="urn:clash" xmlns:s="{NAMESPACES[version]}" '
        f's:mustUnderstand="{value}"/>'
    )
    response = await post(client, version, envelope(version, header=header))
    reason = 'Header not understood: "{urn:ext}Extension", "{urn:clash}Other"'
    await assert_refused(response, echo, version, reason, code="MustUnderstand")
    fault = read_fault(response, version)
    namespace = NAMESPACES[version]
    blocks = fault.document.findall(f"{{{namespace}}}Header/{{{SOAP12_ENV}}}NotUnderstood")
    if version == "1.1":
        assert blocks == []
        return
    named = []
    for block in blocks:
        prefix, _, name = (block.get("qname") or "").partition(":")
        named.append((block.nsmap[prefix], name))
    assert named == [("urn:ext", "Extension"), ("urn:clash", "Other")]


@pytest.mark.parametrize(("version", "value"), [("1.1", "true"), ("1.2", "yes")])
async def test_invalid_must_understand_value_is_refused(
    client: httpx.AsyncClient, echo: EchoService, version: str, value: str
) -> None:
    header = f'<x:Ext xmlns:x="urn:ext" soap:mustUnderstand="{value}"/>'
    response = await post(client, version, envelope(version, header=header))
    allowed = "0, 1" if version == "1.1" else "0, 1, false, true"
    reason = f'Header "{{urn:ext}}Ext" has mustUnderstand="{value}"; allowed values: {allowed}'
    await assert_refused(response, echo, version, reason)


@pytest.mark.parametrize(
    ("root", "shown"),
    [
        ('<s:Envelope xmlns:s="urn:not-soap"><s:Body/></s:Envelope>', "{urn:not-soap}Envelope"),
        (f'<s:Body xmlns:s="{SOAP11_ENV}"/>', f"{{{SOAP11_ENV}}}Body"),
        ("<Envelope><Body/></Envelope>", "Envelope"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
async def test_foreign_envelope_is_a_version_mismatch_with_an_upgrade_header(
    client: httpx.AsyncClient, echo: EchoService, version: str, root: str, shown: str
) -> None:
    response = await post(client, version, root.encode())
    reason = f'Unsupported envelope "{shown}": send a SOAP 1.1 or SOAP 1.2 Envelope'
    await assert_refused(response, echo, version, reason, code="VersionMismatch")
    fault = read_fault(response, version)
    namespace = NAMESPACES[version]
    supported = fault.document.findall(
        f"{{{namespace}}}Header/{{{SOAP12_ENV}}}Upgrade/{{{SOAP12_ENV}}}SupportedEnvelope"
    )
    named = []
    for element in supported:
        prefix, _, name = (element.get("qname") or "").partition(":")
        named.append(f"{{{element.nsmap[prefix]}}}{name}")
    assert named == [f"{{{SOAP12_ENV}}}Envelope", f"{{{SOAP11_ENV}}}Envelope"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_service_fault_keeps_its_subcode_and_detail(
    client: httpx.AsyncClient, echo: EchoService, version: str
) -> None:
    body = f'<e:Refuse xmlns:e="{ECHO_NS}"/>'
    response = await post(client, version, envelope(version, body))
    fault = read_fault(response, version)
    assert response.status_code == expected_status(version, "Sender")
    assert fault.reason == "Refused by the echo service"
    if version == "1.1":
        assert fault.code == "Client.Refused"
    else:
        assert fault.code == "Sender"
        assert fault.subcode == (ECHO_NS, "Refused")
    assert fault.detail_entry("Message").text == "no"
    assert echo.calls == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_fault_parses_as_xml_with_one_body_child(
    client: httpx.AsyncClient, version: str
) -> None:
    response = await post(client, version, b"garbage")
    root = etree.fromstring(response.content)
    body = root.find(f"{{{NAMESPACES[version]}}}Body")
    assert body is not None
    assert len(body) == 1
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
