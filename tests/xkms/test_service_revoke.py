"""Revoke: by RevocationCode (its 0x03 derivation is the registered identifier) or by a
KeyBindingAuthentication with a new passcode of the owner; refusals change nothing."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from passport.xkms.secrets import revocation_code

from .conftest import ClientKeys, Harness
from .support import (
    query_request,
    register_request,
    revocation_code_identifier,
    revoke_request,
)

MAIL = ("urn:ietf:rfc:2633", "alice@example.com")
DN = ("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"')
CODE = revocation_code("Help I Have Revealed My Key")


async def register(
    xkms: Harness, key: rsa.RSAPrivateKey, pairs: list[tuple[str, str]] | None = None
) -> str:
    """Register `key` for a new user alice with RevocationCode CODE; its binding Id."""
    pairs = pairs or [MAIL]
    passcode = xkms.authorize(xkms.user("alice"), pairs)
    result = await xkms.http.send(
        register_request(xkms.service_url, key, passcode, pairs, revocation_code=CODE)
    )
    assert result.codes == ("Success", None)
    return result.binding().id


async def status(xkms: Harness, key: rsa.RSAPrivateKey) -> tuple[str | None, list[str | None]]:
    """(StatusValue, InvalidReasons) of the key's binding, by Validate."""
    result = await xkms.http.send(
        query_request("ValidateRequest", xkms.service_url, key=key.public_key())
    )
    binding = result.binding()
    return binding.status, binding.invalid_reasons


async def test_revocation_code_revokes_the_binding(xkms: Harness, client_keys: ClientKeys) -> None:
    key = client_keys.rsa2048[0]
    binding_id = await register(xkms, key)

    result = await xkms.http.send(
        revoke_request(xkms.service_url, key.public_key(), revocation_code=CODE)
    )

    assert result.codes == ("Success", None)
    assert result.binding().id == binding_id
    assert result.binding().status == "Invalid"
    assert await status(xkms, key) == ("Invalid", ["RevocationStatus"])
    (event,) = xkms.audit("xkms.revoke")
    assert (event.success, event.actor, event.detail) == (True, "user:alice", "revocation code")
    assert binding_id in event.target


async def test_a_wrong_revocation_code_revokes_nothing(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key)

    result = await xkms.http.send(
        revoke_request(
            xkms.service_url, key.public_key(), revocation_code=revocation_code("a guess")
        )
    )

    assert result.codes == ("Sender", "NoAuthentication")
    assert result.bindings() == []
    assert await status(xkms, key) == ("Valid", [])
    (event,) = xkms.audit("xkms.revoke")
    assert (event.success, event.detail) == (
        False,
        "NoAuthentication: RevocationCode does not match",
    )


async def test_the_registered_identifier_itself_is_not_a_revocation_code(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    """What the service stores (the identifier) does not revoke: only the code does."""
    key = client_keys.rsa2048[0]
    await register(xkms, key)

    result = await xkms.http.send(
        revoke_request(
            xkms.service_url, key.public_key(), revocation_code=revocation_code_identifier(CODE)
        )
    )

    assert result.codes == ("Sender", "NoAuthentication")
    assert await status(xkms, key) == ("Valid", [])


async def test_revoking_twice_finds_no_live_binding_the_second_time(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key)
    request = revoke_request(xkms.service_url, key.public_key(), revocation_code=CODE)
    assert (await xkms.http.send(request)).codes == ("Success", None)

    again = await xkms.http.send(
        revoke_request(xkms.service_url, key.public_key(), revocation_code=CODE)
    )

    assert again.codes == ("Receiver", "NoMatch")
    (accepted, refused) = xkms.audit("xkms.revoke")
    assert accepted.success is True
    assert (refused.success, refused.detail) == (
        False,
        "NoMatch: no live key binding matches",
    )


async def test_a_new_passcode_of_the_owner_revokes_by_key_binding_authentication(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    binding_id = await register(xkms, key, [MAIL, DN])
    alice = xkms.services.users.get("alice")
    revoking = xkms.authorize(alice, [MAIL, DN], uses=1)

    result = await xkms.http.send(
        revoke_request(xkms.service_url, key.public_key(), passcode=revoking)
    )

    assert result.codes == ("Success", None)
    assert result.binding().id == binding_id
    assert await status(xkms, key) == ("Invalid", ["RevocationStatus"])
    assert xkms.uses_left() == [0, 0]
    (event,) = xkms.audit("xkms.revoke")
    assert (event.success, event.detail) == (True, "passcode")


async def test_another_users_passcode_does_not_revoke(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key)
    bobs = xkms.authorize(xkms.user("bob"), [MAIL], uses=1)

    result = await xkms.http.send(revoke_request(xkms.service_url, key.public_key(), passcode=bobs))

    assert result.codes == ("Sender", "NoAuthentication")
    assert await status(xkms, key) == ("Valid", [])
    assert xkms.uses_left() == [0, 1]
    (event,) = xkms.audit("xkms.revoke")
    assert event.success is False
    assert event.detail == "NoAuthentication: no passcode of the key's owner verifies"


async def test_a_passcode_of_the_owner_that_does_not_cover_the_binding_does_not_revoke(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key, [MAIL, DN])
    alice = xkms.services.users.get("alice")
    narrow = xkms.authorize(alice, [MAIL], uses=1)

    result = await xkms.http.send(
        revoke_request(xkms.service_url, key.public_key(), passcode=narrow)
    )

    assert result.codes == ("Sender", "Refused")
    assert await status(xkms, key) == ("Valid", [])
    assert xkms.uses_left() == [0, 1]
    (event,) = xkms.audit("xkms.revoke")
    assert event.success is False
    assert event.detail == "Refused: passcode does not cover the binding's UseKeyWith values"


async def test_a_revoke_without_code_or_authentication_is_refused(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key)

    result = await xkms.http.send(revoke_request(xkms.service_url, key.public_key()))

    assert result.codes == ("Sender", "NoAuthentication")
    assert await status(xkms, key) == ("Valid", [])
