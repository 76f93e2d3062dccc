"""Signed requests: with `xkms_require_signed_requests` a request must carry an enveloped
signature over itself (first child, Reference to its Id) by a key listed in
`xkms_trusted_client_keys`; without it, a signature a request carries is still verified.
A Register refused for its signature spends nothing and is audited."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from passport.xkms.keys import key_fingerprint

from .conftest import ClientKeys, Harness
from .support import ds, query_request, register_request, sign_request, x

MAIL = ("urn:ietf:rfc:2633", "alice@example.com")


@pytest.fixture
def xkms_policy(client_keys: ClientKeys) -> dict[str, Any]:
    """Signed requests required, from the first client key only."""
    return {
        "xkms_require_signed_requests": True,
        "xkms_trusted_client_keys": [key_fingerprint(client_keys.rsa2048[0].public_key())],
    }


def locate_for(xkms: Harness) -> etree._Element:
    return query_request("LocateRequest", xkms.service_url, use_key_with=[MAIL])


async def test_an_unsigned_request_is_refused_when_signatures_are_required(
    xkms: Harness,
) -> None:
    result = await xkms.http.send(locate_for(xkms))

    assert result.codes == ("Sender", "NoAuthentication")


async def test_a_request_signed_by_a_trusted_key_is_served(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    request = locate_for(xkms)
    sign_request(request, client_keys.rsa2048[0])

    result = await xkms.http.send(request)

    assert result.codes == ("Success", "NoMatch")
    assert request[0].tag == ds("Signature")


async def test_a_request_signed_by_an_untrusted_key_is_refused(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    request = locate_for(xkms)
    sign_request(request, client_keys.rsa2048[1])

    result = await xkms.http.send(request)

    assert result.codes == ("Sender", "NoAuthentication")


async def test_a_trusted_signature_over_a_changed_request_is_refused(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    request = locate_for(xkms)
    sign_request(request, client_keys.rsa2048[0])
    use = request.find(f"{x('QueryKeyBinding')}/{x('UseKeyWith')}")
    assert use is not None
    use.set("Identifier", "mallory@example.com")

    result = await xkms.http.send(request)

    assert result.codes == ("Sender", "NoAuthentication")


async def test_a_trusted_signature_over_something_else_is_refused(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    """The trusted key signed another request; its signature is put on this one."""
    signed = locate_for(xkms)
    sign_request(signed, client_keys.rsa2048[0])
    request = locate_for(xkms)
    request.insert(0, signed[0])

    result = await xkms.http.send(request)

    assert result.codes == ("Sender", "NoAuthentication")


async def test_a_signed_register_by_a_trusted_key_registers(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    passcode = xkms.authorize(xkms.user("alice"), [MAIL])
    request = register_request(xkms.service_url, client_keys.rsa2048[2], passcode, [MAIL])
    sign_request(request, client_keys.rsa2048[0])

    result = await xkms.http.send(request)

    assert result.codes == ("Success", None)
    assert xkms.binding_count() == 1


async def test_an_unsigned_register_is_refused_audited_and_spends_nothing(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    passcode = xkms.authorize(xkms.user("alice"), [MAIL])

    result = await xkms.http.send(
        register_request(xkms.service_url, client_keys.rsa2048[2], passcode, [MAIL])
    )

    assert result.codes == ("Sender", "NoAuthentication")
    assert xkms.binding_count() == 0
    assert xkms.uses_left() == [1]
    (event,) = xkms.audit("xkms.register")
    assert (event.success, event.detail) == (
        False,
        "NoAuthentication: the request is not signed",
    )


@pytest.mark.parametrize("xkms_policy", [{}])
async def test_without_the_requirement_a_signed_request_is_still_verified(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    good = locate_for(xkms)
    sign_request(good, client_keys.rsa2048[1])
    bad = locate_for(xkms)
    sign_request(bad, client_keys.rsa2048[1])
    bad.set("ResponseLimit", "5")

    assert (await xkms.http.send(locate_for(xkms))).codes == ("Success", "NoMatch")
    assert (await xkms.http.send(good)).codes == ("Success", "NoMatch")
    assert (await xkms.http.send(bad)).codes == ("Sender", "NoAuthentication")
