"""Every result: valid against xkms.xsd, answers the request's Id, echoes OpaqueClientData,
and is signed by the service key so that signxml (not the service's xmlsec) verifies it.

`XkmsHttp.send` makes these checks on every result of every service test; the tests here
cover each result kind and refusal once more on purpose, and prove the checks can fail.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import signxml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from passport.xkms.documents import xkms_schema

from .conftest import ClientKeys, Harness
from .support import (
    VERSIONS,
    Result,
    ds,
    new_request,
    query_request,
    register_request,
    result_element,
    revoke_request,
    verify_result_signature,
    x,
)

ALICE_MAIL = ("urn:ietf:rfc:2633", "alice@example.com")
OPAQUE = (b"client state \x00\xff", b"second")


async def registered(xkms: Harness, key: rsa.RSAPrivateKey) -> Result:
    passcode = xkms.authorize(xkms.user("alice"), [ALICE_MAIL])
    result = await xkms.http.send(
        register_request(xkms.service_url, key, passcode, [ALICE_MAIL], opaque=OPAQUE)
    )
    assert result.codes == ("Success", None)
    return result


@pytest.mark.parametrize("version", VERSIONS)
async def test_each_result_kind_is_valid_signed_and_echoes_the_client_data(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    key = client_keys.rsa2048[0]
    passcode = xkms.authorize(xkms.user("alice"), [ALICE_MAIL])
    service = xkms.service_url
    requests = [
        register_request(service, key, passcode, [ALICE_MAIL], opaque=OPAQUE),
        query_request("LocateRequest", service, key=key.public_key(), opaque=OPAQUE),
        query_request("ValidateRequest", service, key=key.public_key(), opaque=OPAQUE),
        revoke_request(service, key.public_key(), passcode="wrong passcode"),
        register_request(service, key, "wrong passcode", [ALICE_MAIL], opaque=OPAQUE),
        query_request("LocateRequest", service, key_name="nobody", opaque=OPAQUE),
    ]
    expected = [
        ("Success", None),
        ("Success", None),
        ("Success", None),
        ("Sender", "NoAuthentication"),
        ("Sender", "NoAuthentication"),
        ("Success", "NoMatch"),
    ]

    results = [await xkms.http.send(request, version) for request in requests]

    assert [result.codes for result in results] == expected
    for request, result in zip(requests, results, strict=True):
        assert result.element.get("RequestId") == request.get("Id")
        if request.find(x("OpaqueClientData")) is not None:
            echoed = result.element.findall(f"{x('OpaqueClientData')}/{x('OpaqueData')}")
            assert [e.text for e in echoed] == ["Y2xpZW50IHN0YXRlIAD/", "c2Vjb25k"]
        signature = result.element[0]
        assert signature.tag == ds("Signature")
        method = signature.find(f"{ds('SignedInfo')}/{ds('SignatureMethod')}")
        assert method is not None
        assert method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def _change_attribute(result: etree._Element) -> None:
    result.set("ResultMajor", "http://www.w3.org/2002/03/xkms#Sender")


def _change_status(result: etree._Element) -> None:
    status = result.find(f"{x('KeyBinding')}/{x('Status')}")
    assert status is not None
    status.set("StatusValue", "http://www.w3.org/2002/03/xkms#Invalid")


def _change_key(result: etree._Element) -> None:
    modulus = result.find(f".//{ds('Modulus')}")
    assert modulus is not None
    modulus.text = "AQAB" + (modulus.text or "")[4:]


def _drop_binding(result: etree._Element) -> None:
    binding = result.find(x("KeyBinding"))
    assert binding is not None
    result.remove(binding)


def _change_request_id(result: etree._Element) -> None:
    result.set("RequestId", "Iforged")


def _change_signature_value(result: etree._Element) -> None:
    value = result.find(f"{ds('Signature')}/{ds('SignatureValue')}")
    assert value is not None
    text = "".join((value.text or "").split())
    value.text = ("B" if text[0] == "A" else "A") + text[1:]


@pytest.mark.parametrize(
    "tamper",
    [
        _change_attribute,
        _change_status,
        _change_key,
        _drop_binding,
        _change_request_id,
        _change_signature_value,
    ],
)
async def test_tampering_with_a_received_result_breaks_its_signature(
    xkms: Harness, client_keys: ClientKeys, tamper: Callable[[etree._Element], None]
) -> None:
    result = await registered(xkms, client_keys.rsa2048[0])
    certificate = xkms.http.service_certificate
    verify_result_signature(result.element, certificate)
    tampered = copy.deepcopy(result.element)

    tamper(tampered)

    with pytest.raises(signxml.exceptions.InvalidSignature):
        verify_result_signature(tampered, certificate)


def self_signed(key: rsa.RSAPrivateKey) -> bytes:
    """A certificate for `key` named like the service's, in PEM."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Passport XKMS service")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


async def test_a_result_does_not_verify_with_another_certificate(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    result = await registered(xkms, client_keys.rsa2048[0])

    with pytest.raises(signxml.exceptions.InvalidSignature):
        verify_result_signature(result.element, self_signed(client_keys.rsa2048[1]))


async def test_a_request_without_service_fails_but_still_answers_its_id_and_data(
    xkms: Harness,
) -> None:
    request = query_request("LocateRequest", xkms.service_url, key_name="k", opaque=OPAQUE)
    del request.attrib["Service"]

    result = await xkms.http.send(request)

    assert result.codes == ("Sender", "Failure")
    assert result.element.get("RequestId") == request.get("Id")
    assert result.element.find(x("OpaqueClientData")) is not None


async def test_a_request_without_id_gets_a_result_without_request_id(xkms: Harness) -> None:
    request = new_request("LocateRequest", xkms.service_url)
    del request.attrib["Id"]
    etree.SubElement(request, x("QueryKeyBinding")).append(etree.Element(ds("KeyInfo")))

    result = await xkms.http.send(request)

    assert result.codes == ("Sender", "Failure")
    assert "RequestId" not in result.element.attrib


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("Id", "1-not-an-NCName"), ("Nonce", "not base64!")],
)
async def test_request_attributes_the_schema_refuses_still_get_a_schema_valid_result(
    xkms: Harness, attribute: str, value: str
) -> None:
    request = query_request("LocateRequest", xkms.service_url, key_name="k")
    request.set(attribute, value)

    # Not `send`: the result cannot answer an Id that is not an xs:ID, nor echo that Nonce.
    response = await xkms.http.post(request)

    result = result_element(response.content, "1.1")
    schema = xkms_schema()
    assert schema.validate(etree.fromstring(etree.tostring(result))), schema.error_log
    assert result.get("ResultMajor") == "http://www.w3.org/2002/03/xkms#Sender"
    assert result.get("ResultMinor") == "http://www.w3.org/2002/03/xkms#Failure"
    assert value not in result.attrib.values()
    verify_result_signature(result, xkms.http.service_certificate)


async def test_opaque_client_data_that_is_not_base64_gets_a_schema_valid_result(
    xkms: Harness,
) -> None:
    request = query_request("LocateRequest", xkms.service_url, key_name="k")
    holder = etree.Element(x("OpaqueClientData"))
    etree.SubElement(etree.SubElement(holder, x("OpaqueData")), x("NotBase64"))
    request.insert(0, holder)

    response = await xkms.http.post(request)

    result = result_element(response.content, "1.1")
    schema = xkms_schema()
    assert schema.validate(etree.fromstring(etree.tostring(result))), schema.error_log
    assert result.get("ResultMinor") == "http://www.w3.org/2002/03/xkms#Failure"
    assert result.get("RequestId") == request.get("Id")
    verify_result_signature(result, xkms.http.service_certificate)
