"""Reading XKMS requests and writing XKMS results (lxml elements, schema order)."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from lxml import etree

from passport.xkms import names
from passport.xkms.errors import Failure
from passport.xkms.names import ds, q
from passport.xkms.passcodes import UseKeyWith

Element = etree._Element

MAX_KEY_USAGES = 3


def child(element: Element, local: str, namespace: str = names.XKMS) -> Element | None:
    """The first child with this name, or None."""
    return element.find(f"{{{namespace}}}{local}")


def children(element: Element, local: str, namespace: str = names.XKMS) -> list[Element]:
    """Every child with this name, in order."""
    return element.findall(f"{{{namespace}}}{local}")


def text_of(element: Element | None) -> str:
    """An element's text without surrounding whitespace ('' when absent)."""
    return "" if element is None or element.text is None else element.text.strip()


def parse_datetime(value: str, what: str) -> datetime:
    """An xs:dateTime as naive UTC; Failure when malformed."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Failure(f"{what} is not an xs:dateTime: {value[:64]!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def format_datetime(value: datetime) -> str:
    """Naive UTC as an xs:dateTime with Z."""
    return value.replace(microsecond=0).isoformat() + "Z"


def decode_base64(text: str, what: str) -> bytes:
    """Base64 text decoded (whitespace allowed); Failure when it is not base64."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Failure(f"{what} is not base64") from None


def base64_value(element: Element | None, what: str) -> bytes | None:
    """An element's base64 text decoded (whitespace allowed), or None when absent."""
    if element is None:
        return None
    return decode_base64(text_of(element), what)


def is_ncname(value: str) -> bool:
    """Whether `value` is an xs:NCName (so an xs:ID), by libxml2's own rule: the one schema
    validation applies. A result may only answer a request Id that is one."""
    if not value or "{" in value:
        return False
    try:
        etree.QName(value)
    except ValueError:
        return False
    return True


def opaque_client_data(element: Element) -> Element | None:
    """The request's OpaqueClientData, which a result echoes; Failure unless it holds only
    OpaqueData elements of base64 text, as the schema says (an echo must stay valid)."""
    holder = child(element, "OpaqueClientData")
    if holder is None:
        return None
    if text_of(holder) or any((c.tail or "").strip() for c in holder):
        raise Failure("OpaqueClientData holds text outside OpaqueData")
    for data in holder.iterchildren(etree.Element):
        if data.tag != names.q("OpaqueData") or len(data):
            raise Failure("OpaqueClientData may hold only OpaqueData of base64 text")
        base64_value(data, "OpaqueData")
    return holder


def new_id() -> str:
    """A fresh xs:ID for a result or key binding."""
    return "I" + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Request:
    """The attributes and elements every XKMS request shares."""

    kind: str
    element: Element
    id: str
    service: str
    nonce: str | None
    original_request_id: str | None
    response_limit: int | None
    opaque_client_data: Element | None
    response_mechanisms: frozenset[str]
    respond_with: frozenset[str]
    signature: Element | None


def parse_request(element: Element) -> Request:
    """The common part of a request; Failure when a required attribute is missing."""
    kind = etree.QName(element).localname
    request_id = element.get("Id")
    service = element.get("Service")
    if not request_id:
        raise Failure(f"{kind} has no Id")
    if not is_ncname(request_id):
        raise Failure(f"{kind} Id is not an xs:ID")
    if service is None:
        raise Failure(f"{kind} has no Service")
    nonce = element.get("Nonce")
    if nonce is not None:
        decode_base64(nonce, "Nonce")
    limit_text = element.get("ResponseLimit")
    limit = None
    if limit_text is not None:
        try:
            limit = int(limit_text)
        except ValueError:
            raise Failure("ResponseLimit is not an integer") from None
        if limit < 0:
            raise Failure("ResponseLimit is negative")
    return Request(
        kind=kind,
        element=element,
        id=request_id,
        service=service,
        nonce=nonce,
        original_request_id=element.get("OriginalRequestId"),
        response_limit=limit,
        opaque_client_data=opaque_client_data(element),
        response_mechanisms=frozenset(text_of(e) for e in children(element, "ResponseMechanism")),
        respond_with=frozenset(text_of(e) for e in children(element, "RespondWith")),
        signature=child(element, "Signature", names.DS),
    )


@dataclass(frozen=True, slots=True)
class KeyBindingSpec:
    """Any flavour of key binding in a request: query, prototype, revoke, reissue, recover."""

    element: Element
    id: str | None
    key_info: Element | None
    key_usages: tuple[str, ...]
    use_key_with: tuple[UseKeyWith, ...]
    not_before: datetime | None
    not_on_or_after: datetime | None
    revocation_code_identifier: bytes | None
    time_instant: datetime | None

    @property
    def key_name(self) -> str | None:
        """The ds:KeyName in the KeyInfo, if any."""
        if self.key_info is None:
            return None
        name = text_of(self.key_info.find(ds("KeyName")))
        return name or None


def parse_key_binding(element: Element) -> KeyBindingSpec:
    """Read a key binding; Failure on values the schema does not allow."""
    usages = tuple(text_of(e) for e in children(element, "KeyUsage"))
    if len(usages) > MAX_KEY_USAGES or any(u not in names.KEY_USAGES for u in usages):
        raise Failure("KeyUsage must be at most three of Signature, Encryption, Exchange")
    pairs = []
    for use in children(element, "UseKeyWith"):
        application, identifier = use.get("Application"), use.get("Identifier")
        if application is None or identifier is None:
            raise Failure("UseKeyWith needs Application and Identifier")
        pairs.append(UseKeyWith(application, identifier))
    interval = child(element, "ValidityInterval")
    not_before = not_after = None
    if interval is not None:
        if interval.get("NotBefore"):
            not_before = parse_datetime(interval.get("NotBefore", ""), "NotBefore")
        if interval.get("NotOnOrAfter"):
            not_after = parse_datetime(interval.get("NotOnOrAfter", ""), "NotOnOrAfter")
    instant = child(element, "TimeInstant")
    time_instant = None
    if instant is not None:
        time_instant = parse_datetime(instant.get("Time", ""), "TimeInstant")
    return KeyBindingSpec(
        element=element,
        id=element.get("Id"),
        key_info=child(element, "KeyInfo", names.DS),
        key_usages=usages,
        use_key_with=tuple(pairs),
        not_before=not_before,
        not_on_or_after=not_after,
        revocation_code_identifier=base64_value(
            child(element, "RevocationCodeIdentifier"), "RevocationCodeIdentifier"
        ),
        time_instant=time_instant,
    )


def new_result(
    request: Request,
    result_name: str,
    service: str,
    major: str = names.SUCCESS,
    minor: str | None = None,
) -> Element:
    """A result element answering the request: Id, Service, ResultMajor/Minor, RequestId,
    Nonce, and the echoed OpaqueClientData."""
    result = etree.Element(q(result_name), nsmap=cast("dict[str, str]", names.NSMAP))
    result.set("Id", new_id())
    result.set("Service", service)
    if request.nonce is not None:
        result.set("Nonce", request.nonce)
    result.set("ResultMajor", major)
    if minor is not None:
        result.set("ResultMinor", minor)
    result.set("RequestId", request.id)
    if request.opaque_client_data is not None:
        result.append(deepcopy(request.opaque_client_data))
    return result


def append_all(parent: Element, elements: Iterable[Element]) -> None:
    """Append elements in order."""
    for element in elements:
        parent.append(element)
