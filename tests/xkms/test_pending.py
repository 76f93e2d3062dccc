"""Asynchronous processing: Pending, an administrator's decision, PendingRequest, Status."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from passport.config import Settings
from passport.identity.audit import Actor
from passport.identity.errors import Conflict
from passport.services import Services
from passport.storage.tables import xkms_key_binding
from passport.xkms import names
from passport.xkms.documents import xkms_schema
from passport.xkms.factory import xkms_service
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.service import XkmsService

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "xkms" / "samples"
ENDPOINT = "https://passport.test/xkms"
ADMIN = Actor("cli:admin", "local")
PAIRS = [
    UseKeyWith("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"'),
    UseKeyWith("urn:ietf:rfc:2633", "alice@example.com"),
    UseKeyWith("http://ca.example.com/cps/20030401/class3", "alice@example.com"),
]


@pytest.fixture
def service(xkms_settings: Settings, services: Services) -> XkmsService:
    settings = xkms_settings.model_copy(
        update={
            "xkms_min_rsa_bits": 1024,
            "xkms_legacy_sha1": True,
            "xkms_accepted_services": ["http://www.example.org/XKMS"],
            "xkms_approval": ["Register"],
        }
    )
    xkms = xkms_service(settings, services.database, services.clock, services.audit)
    alice = services.users.create("alice", "correct horse battery", ADMIN)
    xkms.passcodes.authorize(alice, PAIRS, ADMIN, passcode="024837")
    return xkms


def sample_register(*, pending: bool, notify: bool = False) -> etree._Element:
    request = etree.fromstring((SAMPLES / "registerRequest.xml").read_bytes())
    extra = []
    if pending:
        mechanism = etree.Element(names.q("ResponseMechanism"))
        mechanism.text = names.MECHANISM_PENDING
        extra.append(mechanism)
    for position, element in enumerate(extra):
        request.insert(position, element)
    if notify:
        notification = etree.Element(names.q("PendingNotification"))
        notification.set("Mechanism", "mailto:")
        notification.set("Identifier", "mailto:alice@example.com")
        prototype = request.find(names.q("PrototypeKeyBinding"))
        assert prototype is not None
        prototype.addprevious(notification)
    return request


def ask(kind: str, response_id: str, request_id: str = "p1") -> etree._Element:
    return etree.fromstring(
        f'<{kind} xmlns="{names.XKMS}" Id="{request_id}" Service="{ENDPOINT}" '
        f'ResponseId="{response_id}"/>'.encode()
    )


def answer(service: XkmsService, request: etree._Element) -> etree._Element:
    result = service.result_for(etree.QName(request).localname, request, ENDPOINT, "192.0.2.7")
    assert xkms_schema().validate(result), xkms_schema().error_log.last_error
    return result


def bindings(services: Services) -> int:
    with services.database.read() as connection:
        return int(
            connection.execute(select(func.count()).select_from(xkms_key_binding)).scalar_one()
        )


def test_an_operation_that_waits_without_pending_offered_is_not_synchronous(
    service: XkmsService, services: Services
) -> None:
    result = answer(service, sample_register(pending=False))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (
        names.RECEIVER,
        names.NOT_SYNCHRONOUS,
    )
    assert service.asynchronous.entries() == []
    assert bindings(services) == 0


def test_a_pending_register_is_processed_once_approved(
    service: XkmsService, services: Services
) -> None:
    deferred = answer(service, sample_register(pending=True, notify=True))
    assert deferred.get("ResultMajor") == names.PENDING
    response_id = deferred.get("Id") or ""
    (entry,) = service.asynchronous.entries()
    assert entry.notification == "mailto: mailto:alice@example.com"
    assert bindings(services) == 0

    waiting = answer(service, ask("PendingRequest", response_id))
    assert waiting.get("ResultMajor") == names.PENDING
    status = answer(service, ask("StatusRequest", response_id))
    assert (status.get("Pending"), status.get("Success")) == ("1", "0")

    decided = service.decide(entry.id, approve=True, actor=ADMIN)
    assert decided.state == "approved"
    assert bindings(services) == 1

    result = answer(service, ask("PendingRequest", response_id))
    assert etree.QName(result).localname == "RegisterResult"
    assert result.get("ResultMajor") == names.SUCCESS
    assert result.get("RequestId") == "I1494ac4351b7de5c174d455b7000e18f"
    status = answer(service, ask("StatusRequest", response_id))
    assert (status.get("Success"), status.get("Pending")) == ("1", "0")
    with pytest.raises(Conflict):
        service.decide(entry.id, approve=True, actor=ADMIN)
    assert bindings(services) == 1
    actions = [e.action for e in services.audit.events()]
    assert actions.count("xkms.pending") == 1
    assert actions.count("xkms.approve") == 1


def test_a_rejected_request_answers_refused_and_stores_nothing(
    service: XkmsService, services: Services
) -> None:
    response_id = answer(service, sample_register(pending=True)).get("Id") or ""
    (entry,) = service.asynchronous.entries()

    service.decide(entry.id, approve=False, actor=ADMIN)

    result = answer(service, ask("PendingRequest", response_id))
    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (names.SENDER, names.REFUSED)
    assert bindings(services) == 0
    status = answer(service, ask("StatusRequest", response_id))
    assert status.get("Failure") == "1"


@pytest.mark.parametrize("kind", ["PendingRequest", "StatusRequest"])
def test_an_unknown_response_id_is_refused(service: XkmsService, kind: str) -> None:
    result = answer(service, ask(kind, "Inothing"))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (
        names.SENDER,
        names.UNKNOWN_RESPONSE_ID,
    )
