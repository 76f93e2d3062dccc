"""Security counters under concurrency: passcode uses and revocation, on each backend.

The requests run in parallel over HTTP (each in its own threadpool worker). `hold_writes`
makes every request finish its reads before any writes — all of them see the passcode with
uses left, or the binding live — so only an atomic update can keep the count.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from .conftest import ClientKeys, Harness
from .support import register_request, revoke_request

MAIL = ("urn:ietf:rfc:2633", "alice@example.com")
PARALLEL_REGISTERS = 8
USES = 3


async def test_parallel_registers_spend_a_three_use_passcode_exactly_three_times(
    xkms: Harness, client_keys: ClientKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    passcode = xkms.authorize(xkms.user("alice"), [MAIL], uses=USES)
    keys = client_keys.rsa2048[:PARALLEL_REGISTERS]
    requests = [register_request(xkms.service_url, key, passcode, [MAIL]) for key in keys]
    xkms.hold_writes(PARALLEL_REGISTERS, monkeypatch)

    results = await asyncio.gather(*(xkms.http.send(request) for request in requests))

    assert Counter(result.codes for result in results) == {
        ("Success", None): USES,
        ("Sender", "NoAuthentication"): PARALLEL_REGISTERS - USES,
    }
    assert xkms.binding_count() == USES
    assert xkms.uses_left() == [0]
    events = xkms.audit("xkms.register")
    assert Counter((e.success, e.detail.split(":")[0]) for e in events) == {
        (True, "urn"): USES,
        (False, "NoAuthentication"): PARALLEL_REGISTERS - USES,
    }


async def test_two_parallel_revokes_of_one_binding_revoke_it_once(
    xkms: Harness, client_keys: ClientKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = client_keys.rsa2048[0]
    code = b"revocation code of alice's key!!"[:20]
    passcode = xkms.authorize(xkms.user("alice"), [MAIL])
    registered = await xkms.http.send(
        register_request(xkms.service_url, key, passcode, [MAIL], revocation_code=code)
    )
    assert registered.codes == ("Success", None)
    revokes = [
        revoke_request(xkms.service_url, key.public_key(), revocation_code=code) for _ in range(2)
    ]
    xkms.hold_writes(2, monkeypatch)

    results = await asyncio.gather(*(xkms.http.send(request) for request in revokes))

    assert sorted(result.codes for result in results) == [
        ("Receiver", "NoMatch"),
        ("Success", None),
    ]
    events = xkms.audit("xkms.revoke")
    assert sorted((e.success, e.detail) for e in events) == [
        (False, "NoMatch: already revoked"),
        (True, "revocation code"),
    ]
