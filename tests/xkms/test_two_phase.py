"""The two-phase protocol: Represent with a Nonce bound to the request, that expires and
works once."""

from __future__ import annotations

from typing import Protocol

import pytest
from lxml import etree

from passport.config import Settings
from passport.services import Services
from passport.xkms import names
from passport.xkms.documents import xkms_schema
from passport.xkms.factory import xkms_service
from passport.xkms.service import XkmsService

ENDPOINT = "https://passport.test/xkms"


class MovableClock(Protocol):
    """The test clock (tests/conftest.py FakeClock)."""

    def advance(self, **delta: float) -> None: ...


def locate(
    request_id: str, *, represent: bool, nonce: str | None = None, original: str = ""
) -> etree._Element:
    mechanism = (
        f"<ResponseMechanism>{names.MECHANISM_REPRESENT}</ResponseMechanism>" if represent else ""
    )
    attributes = f' Nonce="{nonce}" OriginalRequestId="{original}"' if nonce else ""
    return etree.fromstring(
        f"""<LocateRequest xmlns="{names.XKMS}" xmlns:ds="{names.DS}" Id="{request_id}"
            Service="{ENDPOINT}"{attributes}>{mechanism}
          <QueryKeyBinding><ds:KeyInfo><ds:KeyName>nobody</ds:KeyName></ds:KeyInfo>
          </QueryKeyBinding>
        </LocateRequest>""".encode()
    )


def answer(service: XkmsService, request: etree._Element) -> etree._Element:
    result = service.result_for("LocateRequest", request, ENDPOINT, "192.0.2.5")
    assert xkms_schema().validate(result), xkms_schema().error_log.last_error
    return result


@pytest.fixture
def service(xkms_settings: Settings, services: Services) -> XkmsService:
    settings = xkms_settings.model_copy(
        update={"xkms_two_phase": ["Locate"], "xkms_nonce_seconds": 60}
    )
    return xkms_service(settings, services.database, services.clock, services.audit)


def test_a_request_that_does_not_offer_represent_gets_represent_required(
    service: XkmsService,
) -> None:
    result = answer(service, locate("a1", represent=False))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (
        names.SENDER,
        names.REPRESENT_REQUIRED,
    )


def test_phase_two_with_the_nonce_is_answered_once(service: XkmsService) -> None:
    first = answer(service, locate("a1", represent=True))
    assert first.get("ResultMajor") == names.REPRESENT
    nonce = first.get("Nonce")
    assert nonce

    second = answer(service, locate("a2", represent=True, nonce=nonce, original="a1"))
    assert second.get("ResultMajor") == names.SUCCESS
    assert second.get("Nonce") == nonce

    replay = answer(service, locate("a3", represent=True, nonce=nonce, original="a1"))
    assert (replay.get("ResultMajor"), replay.get("ResultMinor")) == (
        names.SENDER,
        names.NO_AUTHENTICATION,
    )


def test_a_nonce_is_bound_to_its_request(service: XkmsService) -> None:
    nonce = answer(service, locate("a1", represent=True)).get("Nonce") or ""

    other = answer(service, locate("b2", represent=True, nonce=nonce, original="b1"))

    assert other.get("ResultMinor") == names.NO_AUTHENTICATION
    # The refusal did not spend it: the right request still works.
    assert (
        answer(service, locate("a2", represent=True, nonce=nonce, original="a1")).get("ResultMajor")
        == names.SUCCESS
    )


def test_an_expired_nonce_is_refused(service: XkmsService, clock: MovableClock) -> None:
    nonce = answer(service, locate("a1", represent=True)).get("Nonce") or ""
    clock.advance(seconds=61)

    late = answer(service, locate("a2", represent=True, nonce=nonce, original="a1"))

    assert late.get("ResultMinor") == names.NO_AUTHENTICATION


def test_a_made_up_nonce_is_refused(service: XkmsService) -> None:
    forged = answer(service, locate("a2", represent=True, nonce="bm90IGEgbm9uY2U=", original="a1"))

    assert forged.get("ResultMinor") == names.NO_AUTHENTICATION


def test_operations_not_listed_answer_in_one_phase(
    xkms_settings: Settings, services: Services
) -> None:
    service = xkms_service(xkms_settings, services.database, services.clock, services.audit)

    result = answer(service, locate("a1", represent=True))

    assert result.get("ResultMajor") == names.SUCCESS
