"""Register with client-generated keys: what is accepted, and every refusal the issue names.

Each refusal leaves no key binding, spends no passcode use, and writes an audit line with
success false and the reason. The requests are built by tests/xkms/support.py the way a
client builds them; the service sees them over HTTP, on each backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from lxml import etree

from .conftest import ClientKeys, Harness
from .support import (
    ENCRYPTION,
    RSA_SHA1,
    SHA1,
    SIGNATURE,
    XKMS,
    key_binding,
    prove_possession,
    register_request,
    x,
)

MAIL = ("urn:ietf:rfc:2633", "alice@example.com")
DN = ("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"')
TLS = ("urn:ietf:rfc:2246", "mallory.example.com")


async def test_register_stores_the_binding_and_spends_one_use(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    key = client_keys.rsa2048[0]
    passcode = xkms.authorize(xkms.user("alice"), [MAIL, DN], uses=2)

    result = await xkms.http.send(
        register_request(
            xkms.service_url, key, passcode, [MAIL, DN], usages=[SIGNATURE, ENCRYPTION]
        )
    )

    assert result.codes == ("Success", None)
    binding = result.binding()
    assert binding.status == "Valid"
    assert binding.modulus == key.public_key().public_numbers().n
    assert binding.use_key_with == [MAIL, DN]
    assert binding.usages == ["Signature", "Encryption"]
    assert xkms.binding_count() == 1
    assert xkms.uses_left() == [1]
    (event,) = xkms.audit("xkms.register")
    assert (event.success, event.actor, event.client_address) == (
        True,
        "user:alice",
        "203.0.113.7",
    )
    assert binding.id in event.target


@dataclass(frozen=True)
class Refusal:
    """A Register the service must refuse: how to build it, and what it must answer."""

    build: Callable[[Harness, ClientKeys, str], etree._Element]
    codes: tuple[str, str]
    reason: str


def wrong_passcode(xkms: Harness, keys: ClientKeys, _passcode: str) -> etree._Element:
    return register_request(xkms.service_url, keys.rsa2048[0], "not-the-passcode", [MAIL])


def use_key_with_beyond_the_passcode(
    xkms: Harness, keys: ClientKeys, passcode: str
) -> etree._Element:
    return register_request(xkms.service_url, keys.rsa2048[0], passcode, [MAIL, TLS])


def only_use_key_with_the_passcode_does_not_allow(
    xkms: Harness, keys: ClientKeys, passcode: str
) -> etree._Element:
    return register_request(xkms.service_url, keys.rsa2048[0], passcode, [TLS])


def small_key(xkms: Harness, keys: ClientKeys, passcode: str) -> etree._Element:
    return register_request(xkms.service_url, keys.rsa1024, passcode, [MAIL])


def no_proof_of_possession(xkms: Harness, keys: ClientKeys, passcode: str) -> etree._Element:
    return register_request(xkms.service_url, keys.rsa2048[0], passcode, [MAIL], proof=False)


def proof_by_another_key(xkms: Harness, keys: ClientKeys, passcode: str) -> etree._Element:
    return register_request(
        xkms.service_url, keys.rsa2048[0], passcode, [MAIL], proof_key=keys.rsa2048[1]
    )


def rsa_sha1_proof(xkms: Harness, keys: ClientKeys, passcode: str) -> etree._Element:
    return register_request(
        xkms.service_url,
        keys.rsa2048[0],
        passcode,
        [MAIL],
        proof_method=RSA_SHA1,
        proof_digest=SHA1,
    )


def _victims_request(xkms: Harness, keys: ClientKeys, passcode: str) -> etree._Element:
    """Alice's honest request for her key, as the attacker intercepts it."""
    return register_request(xkms.service_url, keys.rsa2048[0], passcode, [MAIL])


def _signed_binding(request: etree._Element) -> etree._Element:
    binding = request.find(x("PrototypeKeyBinding"))
    assert binding is not None
    return binding


def _forged_binding(keys: ClientKeys, binding_id: str) -> etree._Element:
    """The attacker's PrototypeKeyBinding: the attacker's key, Alice's UseKeyWith."""
    holder = etree.Element(x("RegisterRequest"), nsmap={None: XKMS})  # type: ignore[dict-item]
    forged = key_binding(
        holder, "PrototypeKeyBinding", key=keys.rsa2048[1].public_key(), use_key_with=[MAIL]
    )
    forged.set("Id", binding_id)
    return forged


def _replace_proof(request: etree._Element, signed: etree._Element, keys: ClientKeys) -> None:
    """The attacker's own ProofOfPossession (by the attacker's key) over `signed`."""
    proof = request.find(x("ProofOfPossession"))
    assert proof is not None
    request.remove(proof)
    prove_possession(request, signed, keys.rsa2048[1])


def second_element_with_the_signed_id(
    xkms: Harness, keys: ClientKeys, passcode: str
) -> etree._Element:
    """Alice's request untouched but for a second element carrying the signed Id: which
    element a signature covers is ambiguous, so the service refuses it."""
    request = _victims_request(xkms, keys, passcode)
    extension = etree.SubElement(request, x("MessageExtension"))
    extension.append(_forged_binding(keys, _signed_binding(request).get("Id", "")))
    return request


def signed_binding_moved_forged_one_with_its_id(
    xkms: Harness, keys: ClientKeys, passcode: str
) -> etree._Element:
    """The signed binding moved into a MessageExtension first in the document (where an Id
    lookup finds it, so both signatures verify over it: the attacker signs it with their
    own key), and a forged binding with the same Id put where the service reads it."""
    request = _victims_request(xkms, keys, passcode)
    signed = _signed_binding(request)
    _replace_proof(request, signed, keys)
    signed.addprevious(_forged_binding(keys, signed.get("Id", "")))
    extension = etree.Element(x("MessageExtension"))
    extension.append(signed)
    request.insert(0, extension)
    return request


def signed_binding_moved_forged_one_with_its_own_id(
    xkms: Harness, keys: ClientKeys, passcode: str
) -> etree._Element:
    """The signed binding moved into a MessageExtension, and a forged binding with an Id of
    its own (and the attacker's proof over it) put in its place: every signature verifies,
    but the authentication covers an element the service does not act on."""
    request = _victims_request(xkms, keys, passcode)
    signed = _signed_binding(request)
    forged = _forged_binding(keys, "Iforged")
    signed.addprevious(forged)
    extension = etree.Element(x("MessageExtension"))
    extension.append(signed)
    request.insert(0, extension)
    _replace_proof(request, forged, keys)
    return request


REFUSALS = {
    "wrong passcode": Refusal(
        wrong_passcode,
        ("Sender", "NoAuthentication"),
        "NoAuthentication: no passcode verifies the KeyBindingAuthentication",
    ),
    "UseKeyWith beyond the passcode": Refusal(
        use_key_with_beyond_the_passcode,
        ("Sender", "Refused"),
        "Refused: passcode does not allow UseKeyWith urn:ietf:rfc:2246=mallory.example.com",
    ),
    "only a UseKeyWith the passcode does not allow": Refusal(
        only_use_key_with_the_passcode_does_not_allow,
        ("Sender", "Refused"),
        "Refused: passcode does not allow UseKeyWith urn:ietf:rfc:2246=mallory.example.com",
    ),
    "1024-bit key": Refusal(
        small_key,
        ("Sender", "Refused"),
        "Refused: RSA key of 1024 bits; at least 2048 required",
    ),
    "no ProofOfPossession": Refusal(
        no_proof_of_possession,
        ("Sender", "ProofOfPossessionRequired"),
        "ProofOfPossessionRequired: no ProofOfPossession",
    ),
    "ProofOfPossession by another key": Refusal(
        proof_by_another_key,
        ("Sender", "ProofOfPossessionRequired"),
        "ProofOfPossessionRequired: ProofOfPossession: the signature does not verify",
    ),
    "RSA-SHA1 ProofOfPossession": Refusal(
        rsa_sha1_proof,
        ("Sender", "Refused"),
        "Refused: ProofOfPossession: signature method "
        "'http://www.w3.org/2000/09/xmldsig#rsa-sha1' is not allowed",
    ),
    "wrapping: a second element with the signed Id": Refusal(
        second_element_with_the_signed_id,
        ("Sender", "NoAuthentication"),
        "NoAuthentication: KeyBindingAuthentication: Id",
    ),
    "wrapping: signed binding moved, forged one with its Id": Refusal(
        signed_binding_moved_forged_one_with_its_id,
        ("Sender", "NoAuthentication"),
        "NoAuthentication: KeyBindingAuthentication: Id",
    ),
    "wrapping: signed binding moved, forged one with its own Id": Refusal(
        signed_binding_moved_forged_one_with_its_own_id,
        ("Sender", "NoAuthentication"),
        "NoAuthentication: KeyBindingAuthentication: the reference '#",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_refused_register_stores_nothing_spends_nothing_and_is_audited(
    xkms: Harness, client_keys: ClientKeys, case: str
) -> None:
    refusal = REFUSALS[case]
    passcode = xkms.authorize(xkms.user("alice"), [MAIL], uses=1)
    request = refusal.build(xkms, client_keys, passcode)

    result = await xkms.http.send(request)

    assert result.codes == refusal.codes
    assert result.bindings() == []
    assert xkms.binding_count() == 0
    assert xkms.uses_left() == [1]
    (event,) = xkms.audit("xkms.register")
    assert event.success is False
    assert event.detail.startswith(refusal.reason), event.detail
    assert event.client_address == "203.0.113.7"


async def test_a_used_up_passcode_registers_no_second_key(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    passcode = xkms.authorize(xkms.user("alice"), [MAIL], uses=1)
    first = register_request(xkms.service_url, client_keys.rsa2048[0], passcode, [MAIL])
    assert (await xkms.http.send(first)).codes == ("Success", None)

    second = await xkms.http.send(
        register_request(xkms.service_url, client_keys.rsa2048[1], passcode, [MAIL])
    )

    assert second.codes == ("Sender", "NoAuthentication")
    assert xkms.binding_count() == 1
    assert xkms.uses_left() == [0]
    (_, refused) = xkms.audit("xkms.register")
    assert (refused.success, refused.detail) == (False, "NoAuthentication: passcode used up")


async def test_an_expired_passcode_registers_nothing(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    passcode = xkms.authorize(xkms.user("alice"), [MAIL], uses=1, expires_in=timedelta(hours=1))
    xkms.clock.advance(hours=1)

    result = await xkms.http.send(
        register_request(xkms.service_url, client_keys.rsa2048[0], passcode, [MAIL])
    )

    assert result.codes == ("Sender", "NoAuthentication")
    assert xkms.binding_count() == 0
    assert xkms.uses_left() == [1]
    (event,) = xkms.audit("xkms.register")
    assert (event.success, event.detail) == (False, "NoAuthentication: passcode expired")


async def test_a_passcode_just_before_expiry_registers(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    passcode = xkms.authorize(xkms.user("alice"), [MAIL], uses=1, expires_in=timedelta(hours=1))
    xkms.clock.advance(minutes=59)

    result = await xkms.http.send(
        register_request(xkms.service_url, client_keys.rsa2048[0], passcode, [MAIL])
    )

    assert result.codes == ("Success", None)


async def test_another_users_passcode_for_the_same_use_key_with_does_not_make_it_theirs(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    """Bob's passcode for his own mail address cannot bind Alice's."""
    alice, bob = xkms.user("alice"), xkms.user("bob")
    xkms.authorize(alice, [MAIL], uses=1)
    bobs = xkms.authorize(bob, [("urn:ietf:rfc:2633", "bob@example.com")], uses=1)

    result = await xkms.http.send(
        register_request(xkms.service_url, client_keys.rsa2048[0], bobs, [MAIL])
    )

    assert result.codes[0] == "Sender"
    assert xkms.binding_count() == 0
    assert xkms.uses_left() == [1, 1]
