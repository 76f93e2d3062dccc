"""Locate and Validate: finding bindings by key, name, UseKeyWith and usage; what RespondWith
and ResponseLimit change; the Status of a binding revoked, locked, deleted or out of date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete

from passport.storage.tables import user_account

from .conftest import SETUP, ClientKeys, Harness
from .support import (
    ENCRYPTION,
    RESPOND_KEY_NAME,
    RESPOND_KEY_VALUE,
    SIGNATURE,
    Pair,
    Result,
    query_request,
    register_request,
    revoke_request,
)

MAIL = ("urn:ietf:rfc:2633", "alice@example.com")
TLS = ("urn:ietf:rfc:2246", "alice.example.com")
BOB = ("urn:ietf:rfc:2633", "bob@example.com")
CODE = b"\x01" * 20


async def register(
    xkms: Harness,
    key: rsa.RSAPrivateKey,
    pairs: list[Pair],
    *,
    user: str = "alice",
    **options: object,
) -> str:
    """Register `key` for `user` (created on first use); the binding's Id."""
    owner = xkms.services.users.find(user) or xkms.user(user)
    passcode = xkms.authorize(owner, pairs)
    result = await xkms.http.send(
        register_request(xkms.service_url, key, passcode, pairs, **options)  # type: ignore[arg-type]
    )
    assert result.codes == ("Success", None)
    return result.binding().id


async def locate(xkms: Harness, **query: object) -> Result:
    return await xkms.http.send(query_request("LocateRequest", xkms.service_url, **query))  # type: ignore[arg-type]


async def validate(xkms: Harness, **query: object) -> Result:
    return await xkms.http.send(query_request("ValidateRequest", xkms.service_url, **query))  # type: ignore[arg-type]


def modulus(key: rsa.RSAPrivateKey) -> int:
    return key.public_key().public_numbers().n


async def test_locate_by_key_value_returns_the_binding_with_its_key(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key, other = client_keys.rsa2048[0], client_keys.rsa2048[1]
    binding_id = await register(xkms, key, [MAIL])
    await register(xkms, other, [BOB], user="bob")

    result = await locate(xkms, key=key.public_key())

    assert result.codes == ("Success", None)
    found = result.binding("UnverifiedKeyBinding")
    assert found.id == binding_id
    assert found.modulus == modulus(key)
    assert found.use_key_with == [MAIL]
    assert found.status is None


async def test_locate_by_key_name(xkms: Harness, client_keys: ClientKeys) -> None:
    key = client_keys.rsa2048[0]
    binding_id = await register(xkms, key, [MAIL], key_name="alice-signing")
    await register(xkms, client_keys.rsa2048[1], [BOB], user="bob", key_name="bob-signing")

    result = await locate(xkms, key_name="alice-signing")

    assert result.binding("UnverifiedKeyBinding").id == binding_id


async def test_locate_by_use_key_with_finds_only_that_identifier(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    binding_id = await register(xkms, client_keys.rsa2048[0], [MAIL, TLS])
    await register(xkms, client_keys.rsa2048[1], [BOB], user="bob")

    by_tls = await locate(xkms, use_key_with=[TLS])
    by_both = await locate(xkms, use_key_with=[MAIL, TLS])

    assert [b.id for b in by_tls.bindings("UnverifiedKeyBinding")] == [binding_id]
    assert [b.id for b in by_both.bindings("UnverifiedKeyBinding")] == [binding_id]


async def test_locate_by_key_usage_keeps_the_keys_for_that_usage(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    signing = await register(xkms, client_keys.rsa2048[0], [MAIL], usages=[SIGNATURE])
    encrypting = await register(xkms, client_keys.rsa2048[1], [MAIL], usages=[ENCRYPTION])

    for_encryption = await locate(xkms, use_key_with=[MAIL], usages=[ENCRYPTION])
    for_signing = await locate(xkms, use_key_with=[MAIL], usages=[SIGNATURE])
    for_both = await locate(xkms, use_key_with=[MAIL], usages=[SIGNATURE, ENCRYPTION])

    assert [b.id for b in for_encryption.bindings("UnverifiedKeyBinding")] == [encrypting]
    assert [b.id for b in for_signing.bindings("UnverifiedKeyBinding")] == [signing]
    assert for_both.codes == ("Success", "NoMatch")
    assert for_encryption.binding("UnverifiedKeyBinding").usages == ["Encryption"]


@pytest.mark.parametrize(
    ("respond_with", "name", "value"),
    [
        ([RESPOND_KEY_NAME], True, False),
        ([RESPOND_KEY_VALUE], False, True),
        ([RESPOND_KEY_NAME, RESPOND_KEY_VALUE], True, True),
    ],
)
async def test_respond_with_chooses_the_key_info_parts(
    xkms: Harness, client_keys: ClientKeys, respond_with: list[str], name: bool, value: bool
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key, [MAIL], key_name="alice-signing")

    located = await locate(xkms, use_key_with=[MAIL], respond_with=respond_with)
    validated = await validate(xkms, use_key_with=[MAIL], respond_with=respond_with)

    for binding in (located.binding("UnverifiedKeyBinding"), validated.binding()):
        assert binding.key_name == ("alice-signing" if name else None)
        assert binding.modulus == (modulus(key) if value else None)


async def test_response_limit_returns_that_many_and_says_there_were_more(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    ids = [await register(xkms, key, [MAIL]) for key in client_keys.rsa2048[:3]]

    limited = await locate(xkms, use_key_with=[MAIL], response_limit=2)
    enough = await locate(xkms, use_key_with=[MAIL], response_limit=3)
    validated = await validate(xkms, use_key_with=[MAIL], response_limit=1)

    assert limited.codes == ("Success", "TooManyResponses")
    assert [b.id for b in limited.bindings("UnverifiedKeyBinding")] == ids[:2]
    assert enough.codes == ("Success", None)
    assert [b.id for b in enough.bindings("UnverifiedKeyBinding")] == ids
    assert validated.codes == ("Success", "TooManyResponses")
    assert [b.id for b in validated.bindings()] == ids[:1]


async def test_no_match_is_success_with_no_match(xkms: Harness, client_keys: ClientKeys) -> None:
    await register(xkms, client_keys.rsa2048[0], [MAIL])

    by_key = await locate(xkms, key=client_keys.rsa2048[1].public_key())
    by_name = await validate(xkms, key_name="nobody")

    assert by_key.codes == by_name.codes == ("Success", "NoMatch")
    assert by_key.bindings("UnverifiedKeyBinding") == by_name.bindings() == []


async def test_validate_says_valid_for_every_reason(xkms: Harness, client_keys: ClientKeys) -> None:
    key = client_keys.rsa2048[0]
    binding_id = await register(xkms, key, [MAIL])

    result = await validate(xkms, key=key.public_key())

    binding = result.binding()
    assert (binding.id, binding.status, binding.invalid_reasons) == (binding_id, "Valid", [])
    reasons = binding.element.findall("{*}Status/{*}ValidReason")
    assert sorted(r.text or "" for r in reasons) == sorted(
        "http://www.w3.org/2002/03/xkms#" + reason
        for reason in ("IssuerTrust", "RevocationStatus", "ValidityInterval", "Signature")
    )


async def test_a_revoked_binding_validates_invalid_and_is_not_located(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key, [MAIL], revocation_code=CODE)
    revoked = await xkms.http.send(
        revoke_request(xkms.service_url, key.public_key(), revocation_code=CODE)
    )
    assert revoked.codes == ("Success", None)

    validated = await validate(xkms, key=key.public_key())
    located = await locate(xkms, key=key.public_key())

    assert (validated.binding().status, validated.binding().invalid_reasons) == (
        "Invalid",
        ["RevocationStatus"],
    )
    assert located.codes == ("Success", "NoMatch")


async def test_a_locked_owners_key_validates_invalid_until_unlocked(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    await register(xkms, key, [MAIL])

    xkms.services.users.set_locked("alice", True, SETUP)
    locked = await validate(xkms, key=key.public_key())
    located = await locate(xkms, key=key.public_key())
    xkms.services.users.set_locked("alice", False, SETUP)
    unlocked = await validate(xkms, key=key.public_key())

    assert (locked.binding().status, locked.binding().invalid_reasons) == (
        "Invalid",
        ["RevocationStatus"],
    )
    assert located.codes == ("Success", "NoMatch")
    assert (unlocked.binding().status, unlocked.binding().invalid_reasons) == ("Valid", [])


async def test_a_deleted_owners_key_validates_invalid(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    binding_id = await register(xkms, key, [MAIL])

    with xkms.services.database.write() as connection:
        connection.execute(delete(user_account).where(user_account.c.username == "alice"))
    validated = await validate(xkms, key=key.public_key())
    located = await locate(xkms, key=key.public_key())

    assert validated.binding().id == binding_id
    assert (validated.binding().status, validated.binding().invalid_reasons) == (
        "Invalid",
        ["RevocationStatus"],
    )
    assert located.codes == ("Success", "NoMatch")


async def test_outside_its_validity_interval_a_binding_validates_invalid(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    now = xkms.clock.now()
    await register(xkms, key, [MAIL], not_on_or_after=now + timedelta(days=1))

    inside = await validate(xkms, key=key.public_key())
    at_instant = await validate(
        xkms, key=key.public_key(), time_instant=now + timedelta(days=1, seconds=1)
    )
    before = await validate(xkms, key=key.public_key(), time_instant=now - timedelta(days=1))
    xkms.clock.advance(days=1)
    expired = await validate(xkms, key=key.public_key())

    assert (inside.binding().status, inside.binding().invalid_reasons) == ("Valid", [])
    for result in (at_instant, before, expired):
        assert (result.binding().status, result.binding().invalid_reasons) == (
            "Invalid",
            ["ValidityInterval"],
        )


async def test_a_binding_that_starts_later_is_not_valid_yet(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    now = xkms.clock.now()
    await register(
        xkms,
        key,
        [MAIL],
        not_before=now + timedelta(days=1),
        not_on_or_after=now + timedelta(days=2),
    )

    early = await validate(xkms, key=key.public_key())
    xkms.clock.advance(days=1)
    started = await validate(xkms, key=key.public_key())

    assert (early.binding().status, early.binding().invalid_reasons) == (
        "Invalid",
        ["ValidityInterval"],
    )
    assert (started.binding().status, started.binding().invalid_reasons) == ("Valid", [])
