"""The Service a request names must be this endpoint, or an address the settings accept;
a Register or Revoke refused for it changes nothing and is audited."""

from __future__ import annotations

import pytest

from .conftest import ClientKeys, Harness
from .support import query_request, register_request, revoke_request

MAIL = ("urn:ietf:rfc:2633", "alice@example.com")
ELSEWHERE = "https://xkms.elsewhere.example/xkms"


@pytest.mark.parametrize(
    "service",
    [ELSEWHERE, "https://passport.test/xkms/", "https://passport.test/other", ""],
)
async def test_a_locate_for_another_service_is_not_supported(
    xkms: Harness, client_keys: ClientKeys, service: str
) -> None:
    result = await xkms.http.send(
        query_request("LocateRequest", service, key=client_keys.rsa2048[0].public_key())
    )

    assert result.codes == ("Sender", "MessageNotSupported")


async def test_a_register_for_another_service_registers_nothing_and_is_audited(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    passcode = xkms.authorize(xkms.user("alice"), [MAIL])

    result = await xkms.http.send(
        register_request(ELSEWHERE, client_keys.rsa2048[0], passcode, [MAIL])
    )

    assert result.codes == ("Sender", "MessageNotSupported")
    assert xkms.binding_count() == 0
    assert xkms.uses_left() == [1]
    (event,) = xkms.audit("xkms.register")
    assert event.success is False
    assert event.detail.startswith("MessageNotSupported: Service"), event.detail


async def test_a_revoke_for_another_service_revokes_nothing_and_is_audited(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    code = b"\x02" * 20
    passcode = xkms.authorize(xkms.user("alice"), [MAIL])
    registered = await xkms.http.send(
        register_request(xkms.service_url, key, passcode, [MAIL], revocation_code=code)
    )
    assert registered.codes == ("Success", None)

    result = await xkms.http.send(revoke_request(ELSEWHERE, key.public_key(), revocation_code=code))

    assert result.codes == ("Sender", "MessageNotSupported")
    validated = await xkms.http.send(
        query_request("ValidateRequest", xkms.service_url, key=key.public_key())
    )
    assert validated.binding().status == "Valid"
    (event,) = xkms.audit("xkms.revoke")
    assert event.success is False
    assert event.detail.startswith("MessageNotSupported: Service"), event.detail


@pytest.mark.parametrize("xkms_policy", [{"xkms_accepted_services": [ELSEWHERE]}])
async def test_an_accepted_service_address_is_served(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    passcode = xkms.authorize(xkms.user("alice"), [MAIL])

    registered = await xkms.http.send(register_request(ELSEWHERE, key, passcode, [MAIL]))
    located = await xkms.http.send(query_request("LocateRequest", ELSEWHERE, key=key.public_key()))
    own = await xkms.http.send(
        query_request("LocateRequest", xkms.service_url, key=key.public_key())
    )
    other = await xkms.http.send(
        query_request("LocateRequest", "https://third.example/xkms", key=key.public_key())
    )

    assert registered.codes == located.codes == own.codes == ("Success", None)
    assert other.codes == ("Sender", "MessageNotSupported")
