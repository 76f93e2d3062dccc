"""XKMS mechanisms end to end through the SOAP container, in SOAP 1.1 and 1.2: Compound with
a failing inner request, the two-phase protocol with replayed and expired nonces, Pending
approved over the admin API then fetched with PendingRequest and StatusRequest, unknown
ResponseIds, RequestSignatureValue, RespondWith Passport cannot serve, and X.509 (X509Cert,
X509Chain, X509CRL, Validate with a foreign chain). Every result is validated against
xkms.xsd and its signature verified by signxml; every refusal names its codes, writes
nothing and, where the operation is audited, leaves an audit line.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509
from lxml import etree

from passport.xkms.ca import CertificateAuthority

from .conftest import ClientKeys, Harness
from .support import (
    DS,
    RESPOND_KEY_VALUE,
    VERSIONS,
    XKMS,
    ds,
    query_request,
    register_request,
    revoke_request,
    sign_request,
    x,
)
from .support_krss import (
    PENDING,
    REPRESENT,
    REQUEST_SIGNATURE_VALUE,
    RESPOND_X509_CERT,
    RESPOND_X509_CHAIN,
    RESPOND_X509_CRL,
    certificate_query,
    certificates,
    compound_request,
    decrypt_private_key,
    foreign_chain,
    generated_register_request,
    inner_results,
    offer,
    phase_two,
    response_id_request,
    send,
    stored,
)
from .test_service_admin import administrator, api

MAIL = ("urn:ietf:rfc:2633", "erin@example.com")
DN = ("urn:ietf:rfc:2459", "CN=Erin,O=Example,C=FR")
PAIRS = [MAIL, DN]
NONCE_SECONDS = 60


@pytest.fixture
def xkms_policy(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The default policy, or the one a test passes (indirect parametrisation)."""
    return dict(getattr(request, "param", {}))


def two_phase(*operations: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "xkms_policy",
        [{"xkms_two_phase": list(operations), "xkms_nonce_seconds": NONCE_SECONDS}],
        indirect=True,
    )


def approval(*operations: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "xkms_policy", [{"xkms_approval": list(operations)}], indirect=True
    )


versions = pytest.mark.parametrize("version", VERSIONS)


# Compound -------------------------------------------------------------------------------


@versions
async def test_a_compound_answers_each_inner_request_and_a_bad_one_fails_alone(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    good, other = client_keys.rsa2048[0], client_keys.rsa2048[1]
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    inner = [
        register_request(xkms.service_url, good, passcode, PAIRS),
        register_request(xkms.service_url, other, "not erin's passcode", PAIRS),
        query_request("LocateRequest", xkms.service_url, key=good.public_key()),
        query_request("ValidateRequest", xkms.service_url, key=other.public_key()),
    ]

    result = await send(xkms, compound_request(xkms.service_url, *inner), version)

    assert result.codes == ("Success", None)
    answers = inner_results(result)
    assert [etree.QName(a.element).localname for a in answers] == [
        "RegisterResult",
        "RegisterResult",
        "LocateResult",
        "ValidateResult",
    ]
    assert [a.element.get("RequestId") for a in answers] == [i.get("Id") for i in inner]
    assert [a.codes for a in answers] == [
        ("Success", None),
        ("Sender", "NoAuthentication"),
        ("Success", None),
        ("Success", "NoMatch"),
    ]
    assert (
        answers[2].binding("UnverifiedKeyBinding").modulus == good.public_key().public_numbers().n
    )
    assert len(stored(xkms).bindings) == 1
    assert stored(xkms).uses_left == [0]
    assert [(e.success, e.detail.split(":")[0]) for e in xkms.audit("xkms.register")] == [
        (True, "urn"),
        (False, "NoAuthentication"),
    ]


# Two-phase ------------------------------------------------------------------------------


async def phase_one(xkms: Harness, request: etree._Element, version: str) -> str:
    """Send phase one; the Nonce of its Represent result, having checked nothing was written."""
    before = stored(xkms)
    offer(request, REPRESENT)
    first = await send(xkms, request, version)
    assert first.codes == ("Represent", None)
    assert stored(xkms) == before
    nonce = first.element.get("Nonce")
    assert nonce
    return nonce


@versions
@two_phase("Register")
async def test_two_phase_register_registers_with_the_nonce_once(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    key = client_keys.rsa2048[0]
    passcode = xkms.authorize(xkms.user("erin"), PAIRS, uses=2)
    first = register_request(xkms.service_url, key, passcode, PAIRS)
    nonce = await phase_one(xkms, first, version)

    second = phase_two(
        offer(register_request(xkms.service_url, key, passcode, PAIRS), REPRESENT), first, nonce
    )
    result = await send(xkms, second, version)

    assert result.codes == ("Success", None)
    assert result.element.get("Nonce") == nonce
    assert len(stored(xkms).bindings) == 1
    assert stored(xkms).uses_left == [1]


@versions
@two_phase("Register")
async def test_two_phase_register_without_represent_offered_is_refused(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    before = stored(xkms)

    result = await send(
        xkms, register_request(xkms.service_url, client_keys.rsa2048[0], passcode, PAIRS), version
    )

    assert result.codes == ("Sender", "RepresentRequired")
    assert stored(xkms) == before
    assert [(e.success, e.detail.split(":")[0]) for e in xkms.audit("xkms.register")] == [
        (False, "RepresentRequired")
    ]


@versions
@two_phase("Register")
@pytest.mark.parametrize("case", ["replayed", "expired", "another-request"])
async def test_a_replayed_expired_or_misbound_nonce_registers_nothing_and_is_audited(
    xkms: Harness, client_keys: ClientKeys, version: str, case: str
) -> None:
    key, other = client_keys.rsa2048[0], client_keys.rsa2048[1]
    passcode = xkms.authorize(xkms.user("erin"), PAIRS, uses=3)
    first = register_request(xkms.service_url, key, passcode, PAIRS)
    nonce = await phase_one(xkms, first, version)
    if case == "replayed":
        used = phase_two(
            offer(register_request(xkms.service_url, key, passcode, PAIRS), REPRESENT),
            first,
            nonce,
        )
        assert (await send(xkms, used, version)).codes == ("Success", None)
    elif case == "expired":
        xkms.clock.advance(seconds=NONCE_SECONDS + 1)
    before = stored(xkms)
    audited = len(xkms.audit("xkms.register"))
    attempt = offer(register_request(xkms.service_url, other, passcode, PAIRS), REPRESENT)
    attempt.set("Nonce", nonce)
    attempt.set(
        "OriginalRequestId", "Ielsewhere" if case == "another-request" else first.get("Id", "")
    )

    result = await send(xkms, attempt, version)

    assert result.codes == ("Sender", "NoAuthentication")
    assert stored(xkms) == before
    events = xkms.audit("xkms.register")[audited:]
    assert [(e.success, e.detail.split(":")[0]) for e in events] == [(False, "NoAuthentication")]


# Pending, an administrator's approval, PendingRequest and StatusRequest -----------------


async def pending_entry(xkms: Harness, token: str) -> dict[str, Any]:
    listed = await api(xkms, "GET", "/Xkms/pending", token)
    assert listed.status_code == 200, listed.text
    (entry,) = listed.json()["Data"]["Pending"]
    return dict(entry)


@versions
@approval("Register")
async def test_a_pending_register_is_approved_over_the_api_and_fetched_with_pending_request(
    xkms: Harness, version: str
) -> None:
    token = administrator(xkms)
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    register = generated_register_request(
        xkms.service_url,
        passcode,
        PAIRS,
        mechanisms=[PENDING],
        notify="mailto:erin@example.com",
    )
    before = stored(xkms)

    deferred = await send(xkms, register, version)

    assert deferred.codes == ("Pending", None)
    response_id = deferred.element.get("Id", "")
    assert stored(xkms) == before
    entry = await pending_entry(xkms, token)
    assert (entry["ResponseId"], entry["Operation"], entry["State"]) == (
        response_id,
        "RegisterRequest",
        "pending",
    )
    assert entry["Notification"] == "mailto: mailto:erin@example.com"
    waiting = await send(
        xkms, response_id_request("PendingRequest", xkms.service_url, response_id), version
    )
    assert waiting.codes == ("Pending", None)
    status = await send(
        xkms, response_id_request("StatusRequest", xkms.service_url, response_id), version
    )
    assert [status.element.get(n) for n in ("Success", "Failure", "Pending")] == ["0", "0", "1"]

    approved = await api(xkms, "POST", "/Xkms/approve", token, number=entry["Number"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["Data"]["Request"]["State"] == "approved"

    fetch = response_id_request("PendingRequest", xkms.service_url, response_id)
    # The deferred RegisterResult answers the original request (see the report on RequestId).
    result = await send(xkms, fetch, version, request_id=register.get("Id"))
    assert etree.QName(result.element).localname == "RegisterResult"
    assert result.codes == ("Success", None)
    private_key = decrypt_private_key(result, passcode)
    assert result.binding().modulus == private_key.public_key().public_numbers().n
    status = await send(
        xkms, response_id_request("StatusRequest", xkms.service_url, response_id), version
    )
    assert [status.element.get(n) for n in ("Success", "Failure", "Pending")] == ["1", "0", "0"]
    assert len(stored(xkms).bindings) == 1
    again = await api(xkms, "POST", "/Xkms/approve", token, number=entry["Number"])
    assert again.status_code == 409, again.text
    assert len(stored(xkms).bindings) == 1
    actions = [(e.action, e.success) for e in xkms.services.audit.events(limit=1000)]
    for action in ("xkms.pending", "xkms.approve", "xkms.register"):
        assert actions.count((action, True)) == 1, action


@versions
@approval("Register")
async def test_a_rejected_register_answers_refused_and_writes_nothing(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    token = administrator(xkms)
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    register = offer(
        register_request(xkms.service_url, client_keys.rsa2048[0], passcode, PAIRS), PENDING
    )
    response_id = (await send(xkms, register, version)).element.get("Id", "")
    entry = await pending_entry(xkms, token)
    before = stored(xkms)

    rejected = await api(xkms, "POST", "/Xkms/reject", token, number=entry["Number"])

    assert rejected.status_code == 200, rejected.text
    fetch = response_id_request("PendingRequest", xkms.service_url, response_id)
    result = await send(xkms, fetch, version, request_id=register.get("Id"))
    assert result.codes == ("Sender", "Refused")
    assert stored(xkms) == before
    status = await send(
        xkms, response_id_request("StatusRequest", xkms.service_url, response_id), version
    )
    assert [status.element.get(n) for n in ("Success", "Failure", "Pending")] == ["0", "1", "0"]
    assert [(e.success) for e in xkms.audit("xkms.reject")] == [True]


@versions
@approval("Register")
async def test_an_operation_waiting_for_approval_without_pending_offered_is_not_synchronous(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    before = stored(xkms)

    result = await send(
        xkms, register_request(xkms.service_url, client_keys.rsa2048[0], passcode, PAIRS), version
    )

    assert result.codes == ("Receiver", "NotSynchronous")
    assert stored(xkms) == before
    assert xkms.audit("xkms.pending") == []
    assert [(e.success, e.detail.split(":")[0]) for e in xkms.audit("xkms.register")] == [
        (False, "NotSynchronous")
    ]


@versions
@pytest.mark.parametrize("kind", ["PendingRequest", "StatusRequest"])
async def test_an_unknown_response_id_is_refused_and_writes_nothing(
    xkms: Harness, client_keys: ClientKeys, version: str, kind: str
) -> None:
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    assert (
        await send(
            xkms, register_request(xkms.service_url, client_keys.rsa2048[0], passcode, PAIRS)
        )
    ).codes == ("Success", None)
    before = stored(xkms)
    audit_before = len(xkms.services.audit.events(limit=1000))

    result = await send(xkms, response_id_request(kind, xkms.service_url, "Inever"), version)

    assert result.codes == ("Sender", "UnknownResponseId")
    assert stored(xkms) == before
    # PendingRequest and StatusRequest change nothing and are not audited operations.
    assert len(xkms.services.audit.events(limit=1000)) == audit_before


# RequestSignatureValue, RespondWith Passport cannot serve --------------------------------


@versions
async def test_request_signature_value_comes_back_when_asked(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    signer = client_keys.rsa2048[2]
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    register = offer(
        register_request(xkms.service_url, client_keys.rsa2048[0], passcode, PAIRS),
        REQUEST_SIGNATURE_VALUE,
    )
    sign_request(register, signer)
    locate = query_request("LocateRequest", xkms.service_url, key_name="nobody")
    sign_request(locate, signer)  # signed, but the value is not asked for

    registered = await send(xkms, register, version)
    located = await send(xkms, locate, version)

    assert registered.codes == ("Success", None)
    sent = register.findtext(f"{ds('Signature')}/{ds('SignatureValue')}") or ""
    returned = registered.element.findtext(x("RequestSignatureValue"))
    assert returned is not None
    assert base64.b64decode(returned) == base64.b64decode(sent)
    assert located.element.find(x("RequestSignatureValue")) is None


@versions
@pytest.mark.parametrize("unsupported", ["PGP", "SPKI", "RetrievalMethod", "PGPWeb"])
async def test_respond_with_data_passport_has_none_of_is_success_incomplete(
    xkms: Harness, client_keys: ClientKeys, version: str, unsupported: str
) -> None:
    key = client_keys.rsa2048[0]
    passcode = xkms.authorize(xkms.user("erin"), PAIRS)
    registered = await send(
        xkms,
        register_request(
            xkms.service_url,
            key,
            passcode,
            PAIRS,
            respond_with=[RESPOND_KEY_VALUE, XKMS + unsupported],
        ),
        version,
    )
    before = stored(xkms)

    located = await send(
        xkms,
        query_request(
            "LocateRequest",
            xkms.service_url,
            key=key.public_key(),
            respond_with=[XKMS + unsupported],
        ),
        version,
    )

    assert registered.codes == ("Success", "Incomplete")
    assert registered.binding().modulus == key.public_key().public_numbers().n
    assert located.codes == ("Success", "Incomplete")
    assert len(located.bindings("UnverifiedKeyBinding")) == 1
    assert stored(xkms) == before


# X.509 ----------------------------------------------------------------------------------


@versions
async def test_certificates_chains_and_the_crl_over_soap(
    xkms: Harness, client_keys: ClientKeys, version: str
) -> None:
    ca = CertificateAuthority.load(xkms.settings.home).certificate
    key, foreign_ca_key = client_keys.rsa2048[0], client_keys.rsa2048[3]
    passcode = xkms.authorize(xkms.user("erin"), PAIRS, uses=2)
    code = b"erin's revocation code"[:20]

    registered = await send(
        xkms,
        register_request(
            xkms.service_url,
            key,
            passcode,
            PAIRS,
            revocation_code=code,
            respond_with=[RESPOND_X509_CHAIN],
        ),
        version,
    )

    assert registered.codes == ("Success", None)
    leaf, issuer = certificates(registered.binding().element)
    assert issuer == ca
    leaf.verify_directly_issued_by(ca)
    assert leaf.public_key() == key.public_key()
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.RFC822Name) == [MAIL[1]]
    assert leaf.subject.rfc4514_string() == DN[1]
    assert stored(xkms).certificates == 1

    located = await send(
        xkms,
        query_request(
            "LocateRequest",
            xkms.service_url,
            key=key.public_key(),
            respond_with=[RESPOND_X509_CERT],
        ),
        version,
    )
    assert certificates(located.binding("UnverifiedKeyBinding").element) == [leaf]

    ours = await send(
        xkms, certificate_query("ValidateRequest", xkms.service_url, [leaf, issuer]), version
    )
    assert ours.binding().status == "Valid"
    foreign = foreign_chain(key, foreign_ca_key, xkms.clock.now())
    theirs = await send(
        xkms, certificate_query("ValidateRequest", xkms.service_url, foreign), version
    )
    assert theirs.binding().status == "Invalid"
    assert theirs.binding().invalid_reasons == ["IssuerTrust"]

    revoked = await send(
        xkms, revoke_request(xkms.service_url, key.public_key(), revocation_code=code), version
    )
    assert revoked.codes == ("Success", None)
    validated = await send(
        xkms,
        certificate_query(
            "ValidateRequest", xkms.service_url, [leaf], respond_with=[RESPOND_X509_CRL]
        ),
        version,
    )
    assert validated.binding().status == "Invalid"
    assert "RevocationStatus" in validated.binding().invalid_reasons
    crl_elements = validated.element.findall(f".//{{{DS}}}X509CRL")
    assert crl_elements
    crls = [x509.load_der_x509_crl(base64.b64decode(e.text or "")) for e in crl_elements]
    current = [crl for crl in crls if crl.issuer == ca.subject]
    assert len(current) == 1
    assert current[0].is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert current[0].get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
