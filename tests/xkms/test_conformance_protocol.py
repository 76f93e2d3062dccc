"""Statements of the XKMS 2.0 Recommendation that docs/xkms-conformance.md maps to tests and
that no other test exercised: two-phase Register, TimeInstant, Reissue without a proof of
possession, Recover with a wrong passcode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from sqlalchemy import func, select

from passport.config import Settings
from passport.identity.users import User
from passport.services import Services
from passport.storage.tables import xkms_key_binding
from passport.xkms import names
from passport.xkms.bindings import BindingStore, NewBinding
from passport.xkms.keys import key_fingerprint, key_value_element
from passport.xkms.messages import format_datetime
from passport.xkms.service import XkmsService

from .test_generated_keys import (
    CLI,
    ENDPOINT,
    PAIR,
    PASSCODE,
    answer,
    key_pair_from,
    make_service,
    recover_request,
    register_generated,
    signed_request,
)


@pytest.fixture
def dave(services: Services) -> User:
    return services.users.create("dave", "correct horse battery", CLI)


def bindings(services: Services) -> list[tuple[str, object, object]]:
    """(binding Id, NotOnOrAfter, revoked at) of every stored binding."""
    with services.database.read() as connection:
        rows = connection.execute(
            select(
                xkms_key_binding.c.binding_id,
                xkms_key_binding.c.not_after,
                xkms_key_binding.c.revoked_at,
            ).order_by(xkms_key_binding.c.id)
        ).all()
    return [(r.binding_id, r.not_after, r.revoked_at) for r in rows]


def store_client_key(services: Services, owner: User, days: int = 30) -> rsa.RSAPrivateKey:
    """A client key bound to `owner` for PAIR, valid from now for `days`, named 'dave-key'."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = services.clock.now()
    with services.database.write() as connection:
        BindingStore().insert(
            connection,
            NewBinding(
                binding_id="Idave",
                user_id=owner.id,
                passcode_id=None,
                key_fingerprint=key_fingerprint(key.public_key()),
                public_key_pem=key.public_key()
                .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
                .decode(),
                key_name="dave-key",
                key_usages=(),
                not_before=now,
                not_after=now + timedelta(days=days),
                revocation_code_identifier=None,
                use_key_with=(PAIR,),
            ),
            now,
        )
    return key


def codes(result: etree._Element) -> tuple[str | None, str | None]:
    return result.get("ResultMajor"), result.get("ResultMinor")


# Part 1, two-phase protocol: a Represent answer processes nothing; the request sent again
# with the Nonce is processed once.


def test_two_phase_register_writes_nothing_until_the_nonce_comes_back(
    xkms_settings: Settings, services: Services, dave: User
) -> None:
    service = make_service(xkms_settings, services, xkms_two_phase=["Register"])
    service.passcodes.authorize(dave, [PAIR], CLI, passcode=PASSCODE)
    asks = (
        f"<ResponseMechanism>{names.MECHANISM_REPRESENT}</ResponseMechanism>"
        f"<RespondWith>{names.RESPOND_PRIVATE_KEY}</RespondWith>"
    )

    def register(mechanisms: str) -> etree._Element:
        return signed_request("RegisterRequest", "PrototypeKeyBinding", PASSCODE, mechanisms)

    without = answer(service, register(f"<RespondWith>{names.RESPOND_PRIVATE_KEY}</RespondWith>"))
    assert codes(without) == (names.SENDER, names.REPRESENT_REQUIRED)
    first = register(asks)
    represent = answer(service, first)
    assert codes(represent) == (names.REPRESENT, None)
    assert represent.find(names.q("KeyBinding")) is None
    assert represent.find(names.q("PrivateKey")) is None
    assert bindings(services) == []

    second = register(asks)
    second.set("Id", "Iphase2")
    second.set("Nonce", represent.get("Nonce") or "")
    second.set("OriginalRequestId", first.get("Id") or "")
    registered = answer(service, second)

    # The passcode (one use) was not spent by the first phase: the second one registers.
    assert codes(registered) == (names.SUCCESS, None)
    assert registered.get("RequestId") == "Iphase2"
    assert len(bindings(services)) == 1
    replayed = answer(service, second)
    assert codes(replayed) == (names.SENDER, names.NO_AUTHENTICATION)
    assert len(bindings(services)) == 1


# Part 1, QueryKeyBinding TimeInstant: Validate reports the status at that instant.


def validate_at(service: XkmsService, key: rsa.RSAPrivateKey, instant: str) -> etree._Element:
    key_info = etree.tostring(key_value_element(key.public_key())).decode()
    request = f"""<ValidateRequest xmlns="{names.XKMS}" xmlns:ds="{names.DS}" Id="Ivalidate"
        Service="{ENDPOINT}">
      <QueryKeyBinding><ds:KeyInfo>{key_info}</ds:KeyInfo>
        <TimeInstant Time="{instant}"/>
      </QueryKeyBinding>
    </ValidateRequest>"""
    return answer(service, etree.fromstring(request.encode()))


def status_of(result: etree._Element) -> tuple[str | None, list[str | None]]:
    status = result.find(f"{names.q('KeyBinding')}/{names.q('Status')}")
    assert status is not None
    return status.get("StatusValue"), [e.text for e in status.findall(names.q("InvalidReason"))]


def test_validate_answers_for_the_time_instant_asked(
    xkms_settings: Settings, services: Services, dave: User
) -> None:
    service = make_service(xkms_settings, services)
    key = store_client_key(services, dave, days=30)
    now = services.clock.now()

    inside = validate_at(service, key, format_datetime(now + timedelta(days=29)))
    after = validate_at(service, key, format_datetime(now + timedelta(days=31)))
    before = validate_at(service, key, format_datetime(now - timedelta(days=1)))

    assert status_of(inside) == (names.VALID, [])
    assert status_of(after) == (names.INVALID, [names.VALIDITY_INTERVAL])
    assert status_of(before) == (names.INVALID, [names.VALIDITY_INTERVAL])


# Part 1, Reissue: the request proves possession of the private key, as Register does.


def test_reissue_without_proof_of_possession_is_refused_and_changes_nothing(
    xkms_settings: Settings, services: Services, dave: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(dave, [PAIR], CLI, passcode=PASSCODE)
    key = store_client_key(services, dave, days=30)
    before = bindings(services)
    key_info = etree.Element(names.ds("KeyInfo"))
    key_info.append(key_value_element(key.public_key()))
    request = signed_request(
        "ReissueRequest", "ReissueKeyBinding", PASSCODE, key=etree.tostring(key_info).decode()
    )

    result = answer(service, request)

    assert codes(result) == (names.SENDER, names.PROOF_OF_POSSESSION_REQUIRED)
    assert bindings(services) == before
    refusals = [e for e in services.audit.events() if e.action == "xkms.reissue"]
    assert [(e.success, e.detail) for e in refusals] == [
        (False, "ProofOfPossessionRequired: no ProofOfPossession")
    ]


# Part 1, Recover: the request must be authenticated; a wrong passcode recovers nothing.


def test_recover_with_a_wrong_passcode_returns_no_key_and_keeps_the_binding(
    xkms_settings: Settings, services: Services, dave: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(dave, [PAIR], CLI, passcode=PASSCODE, uses=2)
    generated = key_pair_from(register_generated(service), PASSCODE, 24)

    result = answer(service, recover_request(generated, "not daves passcode"))

    assert codes(result) == (names.SENDER, names.NO_AUTHENTICATION)
    assert result.find(names.q("PrivateKey")) is None
    ((_, _, revoked_at),) = bindings(services)
    assert revoked_at is None
    refusals = [e for e in services.audit.events() if e.action == "xkms.recover"]
    assert [e.success for e in refusals] == [False]
    with services.database.read() as connection:
        assert connection.execute(select(func.count()).select_from(xkms_key_binding)).scalar() == 1


# Part 1, asynchronous processing: a service MAY answer a request that offered #Pending at
# once; Passport defers only the operations an administrator must approve.


def test_a_request_offering_pending_is_answered_at_once_when_no_approval_is_needed(
    xkms_settings: Settings, services: Services, dave: User
) -> None:
    service = make_service(xkms_settings, services, xkms_approval=["Register"])
    store_client_key(services, dave)
    request = f"""<LocateRequest xmlns="{names.XKMS}" xmlns:ds="{names.DS}" Id="Ilocate"
        Service="{ENDPOINT}">
      <ResponseMechanism>{names.MECHANISM_PENDING}</ResponseMechanism>
      <QueryKeyBinding><ds:KeyInfo><ds:KeyName>dave-key</ds:KeyName></ds:KeyInfo>
      </QueryKeyBinding>
    </LocateRequest>"""

    result = answer(service, etree.fromstring(request.encode()))

    assert codes(result) == (names.SUCCESS, None)
    assert len(result.findall(names.q("UnverifiedKeyBinding"))) == 1
    assert service.asynchronous.entries() == []
