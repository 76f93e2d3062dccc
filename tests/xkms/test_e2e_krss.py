"""Reissue, server-generated keys and Recover end to end through the SOAP container, in
SOAP 1.1 and 1.2: every result validated against xkms.xsd and its signature verified by
signxml, every refusal answered with the Recommendation's codes, writing nothing, audited.
Then Register of a generated key and Recover on a real `passport run` over HTTPS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from passport.xkms.ca import CertificateAuthority

from .conftest import ClientKeys, Harness
from .support import (
    RESPOND_KEY_VALUE,
    VERSIONS,
    post_sync,
    query_request,
    register_request,
    revoke_request,
    send_sync,
    serialize,
)
from .support_krss import (
    RESPOND_X509_CERT,
    XENC,
    certificates,
    check_any,
    cipher_of,
    decrypt_private_key,
    generated_register_request,
    recover_request,
    reissue_request,
    send,
    stored,
)
from .test_service_e2e import RunningXkms, running  # noqa: F401  (the module's server)

MAIL = ("urn:ietf:rfc:2633", "carol@example.com")
DN = ("urn:ietf:rfc:2459", "CN=Carol,O=Example,C=DE")
PAIRS = [MAIL, DN]
MESSAGE = b"signed by carol with the key Passport made for her"


@pytest.fixture
def xkms_policy(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The default policy, or the one a test passes (indirect parametrisation)."""
    return dict(getattr(request, "param", {}))


def signs(private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey) -> None:
    """The private key signs, and the public key of the binding verifies it."""
    signature = private_key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    public_key.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


async def register_client_key(
    xkms: Harness, key: rsa.RSAPrivateKey, *, uses: int = 1, version: str = "1.1"
) -> str:
    """A passcode with `uses` uses for carol; one spent registering `key`. The passcode."""
    passcode = xkms.authorize(xkms.user("carol"), PAIRS, uses=uses)
    registered = await xkms.http.send(
        register_request(xkms.service_url, key, passcode, PAIRS), version
    )
    assert registered.codes == ("Success", None)
    return passcode


async def register_generated(
    xkms: Harness, *, uses: int = 1, version: str = "1.1"
) -> tuple[str, rsa.RSAPrivateKey]:
    """Carol registers a key Passport generates; her passcode and the decrypted key."""
    passcode = xkms.authorize(xkms.user("carol"), PAIRS, uses=uses)
    result = await send(
        xkms, generated_register_request(xkms.service_url, passcode, PAIRS), version
    )
    assert result.codes == ("Success", None)
    return passcode, decrypt_private_key(result, passcode)


# Reissue --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_reissue_renews_the_binding_and_certifies_the_new_validity(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    key = client_keys.rsa2048[0]
    passcode = await register_client_key(xkms, key, uses=2, version=version)
    (before,) = stored(xkms).bindings
    xkms.clock.advance(days=30)
    until = xkms.clock.now() + timedelta(days=90)

    result = await send(
        xkms,
        reissue_request(
            xkms.service_url,
            key,
            passcode,
            PAIRS,
            not_on_or_after=until,
            respond_with=[RESPOND_KEY_VALUE, RESPOND_X509_CERT],
        ),
        version,
    )

    assert result.codes == ("Success", None)
    binding = result.binding()
    assert binding.status == "Valid"
    assert binding.modulus == key.public_key().public_numbers().n
    (leaf,) = certificates(binding.element)
    leaf.verify_directly_issued_by(CertificateAuthority.load(xkms.settings.home).certificate)
    assert leaf.public_key() == key.public_key()
    assert leaf.not_valid_after_utc.replace(tzinfo=None) == until.replace(microsecond=0)
    after = stored(xkms)
    (renewed,) = after.bindings
    assert renewed[0] == before[0]
    assert renewed[1] > before[1]  # not_before moved to now
    assert renewed[2] == until.replace(microsecond=0)
    assert after.uses_left == [0]
    assert after.certificates == 1
    assert [(e.success, e.detail) for e in xkms.audit("xkms.reissue")] == [
        (True, f"until {until:%Y-%m-%dT%H:%M:%SZ}")
    ]


# Keys Passport generates, and Recover ---------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("xkms_policy", "cipher"),
    [
        ({"xkms_private_key_cipher": "tripledes-cbc"}, "tripledes-cbc"),
        ({"xkms_private_key_cipher": "aes128-cbc"}, "aes128-cbc"),
    ],
    indirect=["xkms_policy"],
)
async def test_a_generated_key_comes_back_encrypted_for_the_passcode_and_signs(
    xkms: Harness, version: str, cipher: str
) -> None:
    passcode = xkms.authorize(xkms.user("carol"), PAIRS)

    result = await send(
        xkms,
        generated_register_request(xkms.service_url, passcode, PAIRS, opaque=[b"carol's ref"]),
        version,
    )

    assert result.codes == ("Success", None)
    assert cipher_of(result) == XENC + cipher
    private_key = decrypt_private_key(result, passcode)
    assert private_key.key_size == 2048
    binding = result.binding()
    assert binding.status == "Valid"
    assert binding.modulus == private_key.public_key().public_numbers().n
    assert binding.use_key_with == PAIRS
    signs(private_key, private_key.public_key())
    # Garbage: bad padding, or padding that happens to pass and then not XML.
    with pytest.raises((AssertionError, etree.XMLSyntaxError)):
        decrypt_private_key(result, passcode + "x")
    assert len(stored(xkms).bindings) == 1
    assert stored(xkms).uses_left == [0]
    (event,) = xkms.audit("xkms.register")
    assert event.success


@pytest.mark.parametrize("version", VERSIONS)
async def test_recover_returns_the_escrowed_key_and_revokes_the_binding(
    xkms: Harness, version: str
) -> None:
    _, generated = await register_generated(xkms, version=version)
    recovery = xkms.authorize(
        xkms.services.users.get("carol"), PAIRS, passcode="carol lost her laptop"
    )

    result = await send(
        xkms, recover_request(xkms.service_url, generated.public_key(), recovery), version
    )

    assert result.codes == ("Success", None)
    recovered = decrypt_private_key(result, recovery)
    assert recovered.private_numbers() == generated.private_numbers()
    signs(recovered, generated.public_key())
    assert result.binding().status == "Invalid"
    validated = await xkms.http.send(
        query_request("ValidateRequest", xkms.service_url, key=generated.public_key()), version
    )
    assert validated.binding().status == "Invalid"
    assert validated.binding().invalid_reasons == ["RevocationStatus"]
    (binding,) = stored(xkms).bindings
    assert binding[3] is not None
    assert [(e.success, e.detail) for e in xkms.audit("xkms.recover")] == [
        (True, "binding revoked")
    ]


# Refusals: the codes, nothing written, an audit line -------------------------------------


async def _wrong_passcode_reissue(xkms: Harness, keys: ClientKeys) -> Any:
    key = keys.rsa2048[0]
    await register_client_key(xkms, key, uses=2)
    return reissue_request(xkms.service_url, key, "not carol's passcode", PAIRS)


async def _wrong_proof_reissue(xkms: Harness, keys: ClientKeys) -> Any:
    key = keys.rsa2048[0]
    passcode = await register_client_key(xkms, key, uses=2)
    return reissue_request(xkms.service_url, key, passcode, PAIRS, proof_key=keys.rsa2048[1])


async def _no_proof_reissue(xkms: Harness, keys: ClientKeys) -> Any:
    key = keys.rsa2048[0]
    passcode = await register_client_key(xkms, key, uses=2)
    return reissue_request(xkms.service_url, key, passcode, PAIRS, proof=False)


async def _revoked_reissue(xkms: Harness, keys: ClientKeys) -> Any:
    key = keys.rsa2048[0]
    passcode = await register_client_key(xkms, key, uses=3)
    revoked = await xkms.http.send(
        revoke_request(xkms.service_url, key.public_key(), passcode=passcode)
    )
    assert revoked.codes == ("Success", None)
    return reissue_request(xkms.service_url, key, passcode, PAIRS)


async def _unknown_reissue(xkms: Harness, keys: ClientKeys) -> Any:
    passcode = await register_client_key(xkms, keys.rsa2048[0], uses=2)
    return reissue_request(xkms.service_url, keys.rsa2048[1], passcode, PAIRS)


async def _wrong_passcode_recover(xkms: Harness, _keys: ClientKeys) -> Any:
    _, generated = await register_generated(xkms, uses=2)
    return recover_request(xkms.service_url, generated.public_key(), "not carol's passcode")


async def _revoked_recover(xkms: Harness, _keys: ClientKeys) -> Any:
    passcode, generated = await register_generated(xkms, uses=3)
    revoked = await xkms.http.send(
        revoke_request(xkms.service_url, generated.public_key(), passcode=passcode)
    )
    assert revoked.codes == ("Success", None)
    return recover_request(xkms.service_url, generated.public_key(), passcode)


async def _client_key_recover(xkms: Harness, keys: ClientKeys) -> Any:
    passcode = await register_client_key(xkms, keys.rsa2048[0], uses=2)
    return recover_request(xkms.service_url, keys.rsa2048[0].public_key(), passcode)


async def _unknown_recover(xkms: Harness, keys: ClientKeys) -> Any:
    passcode, _ = await register_generated(xkms, uses=2)
    return recover_request(xkms.service_url, keys.rsa2048[1].public_key(), passcode)


async def _uncovered_recover(xkms: Harness, _keys: ClientKeys) -> Any:
    _, generated = await register_generated(xkms, uses=1)
    narrow = xkms.authorize(xkms.services.users.get("carol"), [MAIL])
    return recover_request(xkms.service_url, generated.public_key(), narrow)


Setup = Callable[[Harness, ClientKeys], Any]
REFUSALS: list[tuple[str, str, Setup, tuple[str, str], str]] = [
    # (case, audited action, setup, (ResultMajor, ResultMinor), audit detail starts with)
    (
        "reissue-wrong-passcode",
        "xkms.reissue",
        _wrong_passcode_reissue,
        ("Sender", "NoAuthentication"),
        "NoAuthentication:",
    ),
    (
        "reissue-wrong-pop",
        "xkms.reissue",
        _wrong_proof_reissue,
        ("Sender", "ProofOfPossessionRequired"),
        "ProofOfPossessionRequired:",
    ),
    (
        "reissue-no-pop",
        "xkms.reissue",
        _no_proof_reissue,
        ("Sender", "ProofOfPossessionRequired"),
        "ProofOfPossessionRequired:",
    ),
    (
        "reissue-revoked",
        "xkms.reissue",
        _revoked_reissue,
        ("Sender", "Refused"),
        "Refused: the key binding is revoked",
    ),
    ("reissue-unknown", "xkms.reissue", _unknown_reissue, ("Receiver", "NoMatch"), "NoMatch:"),
    (
        "recover-wrong-passcode",
        "xkms.recover",
        _wrong_passcode_recover,
        ("Sender", "NoAuthentication"),
        "NoAuthentication:",
    ),
    (
        "recover-revoked",
        "xkms.recover",
        _revoked_recover,
        ("Sender", "Refused"),
        "Refused: the key binding is revoked",
    ),
    (
        "recover-client-key",
        "xkms.recover",
        _client_key_recover,
        ("Sender", "Refused"),
        "Refused: no escrowed private key",
    ),
    ("recover-unknown", "xkms.recover", _unknown_recover, ("Receiver", "NoMatch"), "NoMatch:"),
    (
        "recover-uncovered",
        "xkms.recover",
        _uncovered_recover,
        ("Sender", "Refused"),
        "Refused: passcode does not cover",
    ),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("action", "setup", "codes", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
async def test_a_refused_reissue_or_recover_writes_nothing_and_is_audited(
    xkms: Harness,
    client_keys: ClientKeys,
    version: str,
    action: str,
    setup: Setup,
    codes: tuple[str, str],
    detail: str,
) -> None:
    request = await setup(xkms, client_keys)
    before = stored(xkms)
    audited = len(xkms.audit(action))

    result = await send(xkms, request, version)

    assert result.codes == codes
    assert result.element.find(f"{{{XENC}}}EncryptedData") is None
    assert not result.bindings()
    assert stored(xkms) == before
    events = xkms.audit(action)[audited:]
    assert [e.success for e in events] == [False]
    assert events[0].detail.startswith(detail), events[0].detail


# Two Recovers at once, over HTTP ---------------------------------------------------------


async def test_two_recovers_at_once_over_http_exactly_one_succeeds(
    xkms: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    passcode, generated = await register_generated(xkms, uses=3)
    requests = [
        recover_request(xkms.service_url, generated.public_key(), passcode) for _ in range(2)
    ]
    xkms.hold_writes(2, monkeypatch)

    results = await asyncio.gather(*(send(xkms, request) for request in requests))

    assert sorted(result.codes for result in results) == [
        ("Sender", "Refused"),
        ("Success", None),
    ]
    (winner,) = [r for r in results if r.major == "Success"]
    assert decrypt_private_key(winner, passcode).private_numbers() == generated.private_numbers()
    after = stored(xkms)
    assert after.uses_left == [1]  # the register and one recovery
    assert after.bindings[0][3] is not None
    assert sorted((e.success, e.detail) for e in xkms.audit("xkms.recover")) == [
        (False, "Refused: the key binding was recovered or revoked meanwhile"),
        (True, "binding revoked"),
    ]


# A real `passport run` over HTTPS --------------------------------------------------------


@pytest.mark.e2e
def test_generated_register_and_recover_over_https(running: RunningXkms) -> None:  # noqa: F811
    running.add_user("dave")
    pairs = [("urn:ietf:rfc:2633", "dave@example.com")]
    passcode = running.authorize("dave", pairs, "--uses", "2")
    certificate = running.service_certificate
    register = generated_register_request(running.service_url, passcode, pairs)

    with running.client() as client:
        registered = check_any(
            serialize(register), post_sync(client, register, "1.2"), "1.2", certificate
        )
        generated = decrypt_private_key(registered, passcode)
        recover = recover_request(running.service_url, generated.public_key(), passcode)
        recovered = check_any(
            serialize(recover), post_sync(client, recover, "1.1"), "1.1", certificate
        )
        validated = send_sync(
            client,
            query_request("ValidateRequest", running.service_url, key=generated.public_key()),
            certificate,
        )

    assert registered.codes == ("Success", None)
    assert recovered.codes == ("Success", None)
    assert decrypt_private_key(recovered, passcode).private_numbers() == (
        generated.private_numbers()
    )
    signs(generated, generated.public_key())
    assert recovered.binding().status == "Invalid"
    assert validated.binding().status == "Invalid"
    audit = running.passport("audit")
    assert any(
        " xkms.recover " in line and "binding revoked" in line for line in audit.splitlines()
    )
