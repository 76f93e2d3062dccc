"""The Recommendation's own messages, replayed byte for byte inside SOAP 1.1 and 1.2 envelopes.

Their algorithms and key sizes (RSA-1024, RSA-SHA1) need the documented legacy policy; their
Service is the Recommendation's example address, accepted by setting. The passcode of the
samples is `024837`, authorized for their three UseKeyWith pairs.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Harness
from .support import (
    SAMPLE_PASSCODE,
    SAMPLE_SERVICE,
    SAMPLE_USE_KEY_WITH,
    VERSIONS,
    query_request,
    sample_body,
)

LEGACY_POLICY = {
    "xkms_min_rsa_bits": 1024,
    "xkms_legacy_sha1": True,
    "xkms_accepted_services": [SAMPLE_SERVICE],
}
# The certificate in samples/revokeRequest.xml has a negative serial number.
pytestmark = pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive")


# Passport's default key and algorithm policy; only the samples' Service address added.
DEFAULT_POLICY = {"xkms_accepted_services": [SAMPLE_SERVICE]}


@pytest.fixture
def xkms_policy() -> dict[str, Any]:
    """The legacy policy (a test parametrizes `xkms_policy` for another)."""
    return LEGACY_POLICY


def authorize_sample_passcode(xkms: Harness) -> None:
    xkms.authorize(xkms.user("alice"), SAMPLE_USE_KEY_WITH, passcode=SAMPLE_PASSCODE)


def test_the_samples_are_where_ci_puts_them() -> None:
    assert sample_body("registerRequest.xml").lstrip().startswith(b"<RegisterRequest")
    assert sample_body("revokeRequest.xml").lstrip().startswith(b"<RevokeRequest")


@pytest.mark.parametrize("version", VERSIONS)
async def test_sample_register_succeeds_once_then_the_passcode_is_spent(
    xkms: Harness, version: str
) -> None:
    authorize_sample_passcode(xkms)

    registered = await xkms.http.send(sample_body("registerRequest.xml"), version)

    assert registered.codes == ("Success", None)
    binding = registered.binding()
    assert binding.status == "Valid"
    assert binding.use_key_with == list(SAMPLE_USE_KEY_WITH)
    assert binding.usages == ["Signature", "Encryption", "Exchange"]
    assert xkms.binding_count() == 1
    assert xkms.uses_left() == [0]

    replayed = await xkms.http.send(sample_body("registerRequest.xml"), version)

    assert replayed.codes == ("Sender", "NoAuthentication")
    assert xkms.binding_count() == 1
    (accepted, refused) = xkms.audit("xkms.register")
    assert (accepted.success, accepted.actor) == (True, "user:alice")
    assert refused.success is False
    assert refused.detail == "NoAuthentication: passcode used up"


@pytest.mark.parametrize("version", VERSIONS)
async def test_sample_revoke_revokes_the_sample_registration(xkms: Harness, version: str) -> None:
    authorize_sample_passcode(xkms)
    registered = await xkms.http.send(sample_body("registerRequest.xml"), version)
    assert registered.codes == ("Success", None)
    validate = query_request(
        "ValidateRequest", SAMPLE_SERVICE, use_key_with=[SAMPLE_USE_KEY_WITH[0]]
    )
    assert (await xkms.http.send(validate, version)).binding().status == "Valid"

    revoked = await xkms.http.send(sample_body("revokeRequest.xml"), version)

    assert revoked.codes == ("Success", None)
    assert revoked.binding().id == registered.binding().id
    assert revoked.binding().status == "Invalid"
    validated = await xkms.http.send(
        query_request("ValidateRequest", SAMPLE_SERVICE, use_key_with=[SAMPLE_USE_KEY_WITH[0]]),
        version,
    )
    assert validated.codes == ("Success", None)
    assert validated.binding().status == "Invalid"
    assert validated.binding().invalid_reasons == ["RevocationStatus"]
    (revoke_event,) = xkms.audit("xkms.revoke")
    assert (revoke_event.success, revoke_event.detail) == (True, "revocation code")


@pytest.mark.parametrize("xkms_policy", [DEFAULT_POLICY])
async def test_default_policy_refuses_the_sample_key_as_too_small_and_says_why(
    xkms: Harness,
) -> None:
    authorize_sample_passcode(xkms)

    refused = await xkms.http.send(sample_body("registerRequest.xml"))

    assert refused.codes == ("Sender", "Refused")
    assert xkms.binding_count() == 0
    assert xkms.uses_left() == [1]
    (event,) = xkms.audit("xkms.register")
    assert event.success is False
    assert event.detail == "Refused: RSA key of 1024 bits; at least 2048 required"
