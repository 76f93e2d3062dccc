"""The last conformance rows: signatures inside a Compound, and passcode strength."""

from __future__ import annotations

from typing import Any

import pytest

from passport.xkms.keys import key_fingerprint
from passport.xkms.passcodes import _ALPHABET, generate_passcode

from .conftest import ClientKeys, Harness
from .support import new_request, query_request, short, sign_request, x


@pytest.fixture
def xkms_policy(client_keys: ClientKeys) -> dict[str, Any]:
    """Signed requests required, from the first client key only."""
    trusted = key_fingerprint(client_keys.rsa2048[0].public_key())
    return {"xkms_require_signed_requests": True, "xkms_trusted_client_keys": [trusted]}


@pytest.mark.parametrize("version", ["1.1", "1.2"])
async def test_each_inner_request_of_a_compound_is_checked_for_its_own_signature(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    trusted, untrusted = client_keys.rsa2048[0], client_keys.rsa2048[1]
    compound = new_request("CompoundRequest", xkms.service_url)
    signed = query_request("LocateRequest", xkms.service_url, key_name="nobody")
    sign_request(signed, trusted)
    unsigned = query_request("LocateRequest", xkms.service_url, key_name="nobody")
    foreign = query_request("LocateRequest", xkms.service_url, key_name="nobody")
    sign_request(foreign, untrusted)
    for inner in (signed, unsigned, foreign):
        compound.append(inner)
    sign_request(compound, trusted)

    result = await xkms.http.send(compound, version)

    assert result.codes == ("Success", None)
    inner_codes = [
        (short(e.get("ResultMajor")), short(e.get("ResultMinor")))
        for e in result.element.iterfind(x("LocateResult"))
    ]
    assert inner_codes == [
        ("Success", "NoMatch"),
        ("Sender", "NoAuthentication"),
        ("Sender", "NoAuthentication"),
    ]
    assert [e.get("RequestId") for e in result.element.iterfind(x("LocateResult"))] == [
        signed.get("Id"),
        unsigned.get("Id"),
        foreign.get("Id"),
    ]


async def test_an_unsigned_compound_is_refused_as_a_whole(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    compound = new_request("CompoundRequest", xkms.service_url)
    inner = query_request("LocateRequest", xkms.service_url, key_name="nobody")
    sign_request(inner, client_keys.rsa2048[0])
    compound.append(inner)

    result = await xkms.http.send(compound)

    assert result.codes == ("Sender", "NoAuthentication")
    assert result.element.find(x("LocateResult")) is None


def test_generated_passcodes_carry_about_a_hundred_bits() -> None:
    passcodes = [generate_passcode() for _ in range(2000)]

    assert len(set(passcodes)) == len(passcodes)
    for passcode in passcodes:
        groups = passcode.split("-")
        assert [len(g) for g in groups] == [5, 5, 5, 5]
        assert set("".join(groups)) <= set(_ALPHABET)
    assert len(set(_ALPHABET)) == 31  # 20 symbols of 31: log2(31) * 20 = 99 bits
    # Every symbol turns up: the generator draws from the whole alphabet.
    assert set("".join(p.replace("-", "") for p in passcodes)) == set(_ALPHABET)


def test_the_passcode_alphabet_has_no_look_alike_symbols() -> None:
    assert not set(_ALPHABET) & set("01ILO")
