"""Reissue, Compound and RequestSignatureValue, replayed from the Recommendation's samples."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

import pytest
from lxml import etree
from sqlalchemy import select

from passport.config import Settings
from passport.identity.audit import Actor
from passport.services import Services
from passport.storage.database import Database
from passport.storage.tables import xkms_key_binding
from passport.xkms import names
from passport.xkms.documents import xkms_schema
from passport.xkms.factory import xkms_service
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.service import XkmsService

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "xkms" / "samples"
ENDPOINT = "https://passport.test/xkms"
SAMPLE_SERVICE = "http://www.example.org/XKMS"
SAMPLE_PAIRS = [
    UseKeyWith("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"'),
    UseKeyWith("urn:ietf:rfc:2633", "alice@example.com"),
    UseKeyWith("http://ca.example.com/cps/20030401/class3", "alice@example.com"),
]
CLI = Actor("cli:test", "local")


class MovableClock(Protocol):
    """The test clock (tests/conftest.py FakeClock)."""

    def advance(self, **delta: float) -> None: ...


@pytest.fixture
def sample_settings(xkms_settings: Settings) -> Settings:
    """The samples' own policy: RSA-1024, RSA-SHA1, their Service URI."""
    return xkms_settings.model_copy(
        update={
            "xkms_min_rsa_bits": 1024,
            "xkms_legacy_sha1": True,
            "xkms_accepted_services": [SAMPLE_SERVICE],
        }
    )


@pytest.fixture
def xkms(sample_settings: Settings, services: Services) -> XkmsService:
    """The XKMS service on the test's database."""
    return xkms_service(sample_settings, services.database, services.clock, services.audit)


def sample(name: str) -> etree._Element:
    return etree.fromstring((SAMPLES / name).read_bytes())


def answer(service: XkmsService, element: etree._Element) -> etree._Element:
    result = service.result_for(etree.QName(element).localname, element, ENDPOINT, "192.0.2.9")
    assert xkms_schema().validate(result), xkms_schema().error_log.last_error
    return result


def register_alice(xkms: XkmsService, services: Services, uses: int) -> None:
    alice = services.users.create("alice", "correct horse battery", CLI)
    xkms.passcodes.authorize(alice, SAMPLE_PAIRS, CLI, passcode="024837", uses=uses)
    result = answer(xkms, sample("registerRequest.xml"))
    assert result.get("ResultMajor") == names.SUCCESS


def binding_validity(database: Database) -> tuple[datetime, datetime]:
    with database.read() as connection:
        row = connection.execute(
            select(xkms_key_binding.c.not_before, xkms_key_binding.c.not_after)
        ).one()
    return row.not_before, row.not_after


def test_sample_reissue_renews_the_binding_with_the_registering_passcode(
    xkms: XkmsService, services: Services, clock: MovableClock
) -> None:
    register_alice(xkms, services, uses=2)
    before = binding_validity(services.database)
    clock.advance(days=30)

    result = answer(xkms, sample("reissueRequest.xml"))

    assert result.get("ResultMajor") == names.SUCCESS
    assert result.get("RequestId") == "I3a682dfb94cc8e9b3b648026783a8094"
    status = result.find(f"{names.q('KeyBinding')}/{names.q('Status')}")
    assert status is not None
    assert status.get("StatusValue") == names.VALID
    after = binding_validity(services.database)
    assert after[0] > before[0]
    assert after[1] > before[1]
    actions = [(e.action, e.success) for e in services.audit.events()]
    assert ("xkms.reissue", True) in actions


def test_reissue_beyond_the_passcode_uses_is_refused_and_changes_nothing(
    xkms: XkmsService, services: Services
) -> None:
    register_alice(xkms, services, uses=1)
    before = binding_validity(services.database)

    result = answer(xkms, sample("reissueRequest.xml"))

    assert result.get("ResultMajor") == names.SENDER
    assert result.get("ResultMinor") == names.NO_AUTHENTICATION
    assert binding_validity(services.database) == before
    refusal = [e for e in services.audit.events() if e.action == "xkms.reissue"]
    assert [e.success for e in refusal] == [False]
    assert "used up" in refusal[0].detail


def test_reissue_of_a_revoked_binding_is_refused(xkms: XkmsService, services: Services) -> None:
    register_alice(xkms, services, uses=2)
    assert answer(xkms, sample("revokeRequest.xml")).get("ResultMajor") == names.SUCCESS

    result = answer(xkms, sample("reissueRequest.xml"))

    assert result.get("ResultMajor") == names.SENDER
    assert result.get("ResultMinor") == names.REFUSED


def test_reissue_of_an_unknown_key_is_no_match(xkms: XkmsService, services: Services) -> None:
    services.users.create("alice", "correct horse battery", CLI)

    result = answer(xkms, sample("reissueRequest.xml"))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (
        names.RECEIVER,
        names.NO_MATCH,
    )


def test_a_response_limit_of_zero_returns_no_binding_with_receiver_too_many_responses(
    xkms: XkmsService, services: Services
) -> None:
    register_alice(xkms, services, uses=1)
    request = f"""<LocateRequest xmlns="{names.XKMS}" Id="z1" Service="{ENDPOINT}"
        ResponseLimit="0"><QueryKeyBinding>
        <UseKeyWith Application="urn:ietf:rfc:2633" Identifier="alice@example.com"/>
        </QueryKeyBinding></LocateRequest>"""

    result = answer(xkms, etree.fromstring(request.encode()))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (
        names.RECEIVER,
        names.TOO_MANY_RESPONSES,
    )
    assert result.find(names.q("UnverifiedKeyBinding")) is None


COMPOUND = f"""<CompoundRequest xmlns="{names.XKMS}" Id="c1" Service="{ENDPOINT}">
  <LocateRequest Id="l1" Service="{ENDPOINT}">
    <QueryKeyBinding><UseKeyWith Application="urn:ietf:rfc:2633" Identifier="alice@example.com"/>
    </QueryKeyBinding>
  </LocateRequest>
  <LocateRequest Id="l2" Service="https://elsewhere.test/xkms">
    <QueryKeyBinding><UseKeyWith Application="urn:ietf:rfc:2633" Identifier="alice@example.com"/>
    </QueryKeyBinding>
  </LocateRequest>
  <ValidateRequest Id="v1" Service="{ENDPOINT}">
    <QueryKeyBinding><UseKeyWith Application="urn:ietf:rfc:2633" Identifier="nobody@example.com"/>
    </QueryKeyBinding>
  </ValidateRequest>
</CompoundRequest>"""


def test_compound_answers_each_inner_request_on_its_own(
    xkms: XkmsService, services: Services
) -> None:
    register_alice(xkms, services, uses=1)

    result = answer(xkms, etree.fromstring(COMPOUND.encode()))

    assert result.get("ResultMajor") == names.SUCCESS
    inner = list(result)
    assert [etree.QName(e).localname for e in inner] == [
        "LocateResult",
        "LocateResult",
        "ValidateResult",
    ]
    assert [e.get("RequestId") for e in inner] == ["l1", "l2", "v1"]
    assert inner[0].get("ResultMajor") == names.SUCCESS
    assert len(inner[0].findall(names.q("UnverifiedKeyBinding"))) == 1
    assert (inner[1].get("ResultMajor"), inner[1].get("ResultMinor")) == (
        names.SENDER,
        names.MESSAGE_NOT_SUPPORTED,
    )
    assert inner[2].get("ResultMinor") == names.NO_MATCH


def test_an_empty_compound_request_fails(xkms: XkmsService) -> None:
    empty = f'<CompoundRequest xmlns="{names.XKMS}" Id="c2" Service="{ENDPOINT}"/>'

    result = answer(xkms, etree.fromstring(empty.encode()))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (names.SENDER, names.FAILURE)


def test_request_signature_value_is_returned_when_asked(xkms: XkmsService) -> None:
    request = f"""<LocateRequest xmlns="{names.XKMS}" xmlns:ds="{names.DS}" Id="s1"
        Service="{ENDPOINT}">
      <OpaqueClientData><OpaqueData>b3BhcXVl</OpaqueData></OpaqueClientData>
      <ResponseMechanism>{names.MECHANISM_REQUEST_SIGNATURE_VALUE}</ResponseMechanism>
      <QueryKeyBinding><ds:KeyInfo><ds:KeyName>alice</ds:KeyName></ds:KeyInfo></QueryKeyBinding>
    </LocateRequest>"""
    element = etree.fromstring(request.encode())
    unsigned = answer(xkms, element)
    assert unsigned.find(names.q("RequestSignatureValue")) is None

    signature = etree.Element(names.ds("Signature"))
    etree.SubElement(signature, names.ds("SignatureValue")).text = "c2lnbmF0dXJl"
    element.insert(0, signature)
    # An unverifiable signature is refused, and its value still comes back as asked.
    result = answer(xkms, element)

    assert result.get("ResultMinor") == names.NO_AUTHENTICATION
    value = result.find(names.q("RequestSignatureValue"))
    assert value is not None
    assert value.text == "c2lnbmF0dXJl"
    assert (
        list(result).index(value)
        == list(result).index(result.find(names.q("OpaqueClientData"))) + 1
    )


def test_respond_with_data_passport_cannot_give_makes_the_result_incomplete(
    xkms: XkmsService, services: Services
) -> None:
    register_alice(xkms, services, uses=1)
    request = f"""<LocateRequest xmlns="{names.XKMS}" Id="i1" Service="{ENDPOINT}">
        <RespondWith>{names.XKMS}PGP</RespondWith><QueryKeyBinding>
        <UseKeyWith Application="urn:ietf:rfc:2633" Identifier="alice@example.com"/>
        </QueryKeyBinding></LocateRequest>"""
    plain = request.replace(f"<RespondWith>{names.XKMS}PGP</RespondWith>", "")

    asked = answer(xkms, etree.fromstring(request.encode()))
    not_asked = answer(xkms, etree.fromstring(plain.encode()))

    assert (asked.get("ResultMajor"), asked.get("ResultMinor")) == (
        names.SUCCESS,
        names.INCOMPLETE,
    )
    assert not_asked.get("ResultMinor") is None
    assert len(asked.findall(names.q("UnverifiedKeyBinding"))) == 1
