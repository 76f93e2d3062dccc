"""The XKMS 2.0 service as the SOAP container sees it: dispatch, result codes, signing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from lxml import etree

from passport.identity.audit import Actor, AuditLog
from passport.identity.clock import Clock
from passport.soap.service import SoapRequest, SoapResponse
from passport.storage.database import Database
from passport.xkms import names
from passport.xkms.bindings import BindingStore
from passport.xkms.ca import CertificateAuthority
from passport.xkms.certificates import Certificates
from passport.xkms.documents import document
from passport.xkms.errors import Failure, MessageNotSupported, NoAuthentication, XkmsError
from passport.xkms.keys import KeyInfoError, key_fingerprint, public_key_from_key_info
from passport.xkms.kiss import Kiss
from passport.xkms.krss import Krss
from passport.xkms.messages import (
    Element,
    Request,
    is_ncname,
    new_id,
    new_result,
    opaque_client_data,
    parse_request,
)
from passport.xkms.passcodes import PasscodeService
from passport.xkms.pending import Asynchronous, PendingEntry
from passport.xkms.policy import XkmsPolicy, signature_policies
from passport.xkms.recover import Recover
from passport.xkms.reissue import Reissue
from passport.xkms.represent import TwoPhase
from passport.xkms.service_keys import ServiceKey
from passport.xkms.xmldsig import SignatureError, sign_enveloped, verify_key_signature

log = structlog.get_logger("passport.xkms")

# Every request the Recommendation defines, and the result that answers it.
REQUESTS = {
    "LocateRequest": "LocateResult",
    "ValidateRequest": "ValidateResult",
    "RegisterRequest": "RegisterResult",
    "RevokeRequest": "RevokeResult",
    "ReissueRequest": "ReissueResult",
    "RecoverRequest": "RecoverResult",
    "CompoundRequest": "CompoundResult",
    "PendingRequest": "Result",
    "StatusRequest": "StatusResult",
}


# Every Register, Revoke, Reissue and Recover is audited, refused ones too.
AUDITED_ACTIONS = {
    "RegisterRequest": "xkms.register",
    "RevokeRequest": "xkms.revoke",
    "ReissueRequest": "xkms.reissue",
    "RecoverRequest": "xkms.recover",
}

# The requests a CompoundRequest may hold (no Compound, Pending or Status inside).
COMPOUND_MEMBERS = frozenset(
    {
        "LocateRequest",
        "ValidateRequest",
        "RegisterRequest",
        "ReissueRequest",
        "RecoverRequest",
        "RevokeRequest",
    }
)


# RespondWith values Passport has no data for: a successful result says it is Incomplete.
UNSUPPORTED_RESPOND_WITH = frozenset(
    names.XKMS + value for value in ("RetrievalMethod", "PGP", "PGPWeb", "SPKI")
)


def mark_incomplete(result: Element, request: Request) -> None:
    """Success/Incomplete when RespondWith asked for something Passport cannot give."""
    if (
        result.get("ResultMajor") == names.SUCCESS
        and result.get("ResultMinor") is None
        and request.respond_with & UNSUPPORTED_RESPOND_WITH
    ):
        result.set("ResultMinor", names.INCOMPLETE)


def add_request_signature_value(result: Element, request: Request) -> None:
    """With ResponseMechanism #RequestSignatureValue and a signed request, the result
    carries the request's ds:SignatureValue (after OpaqueClientData, as the schema orders)."""
    if names.MECHANISM_REQUEST_SIGNATURE_VALUE not in request.response_mechanisms:
        return
    if request.signature is None:
        return
    value = request.signature.find(f"{{{names.DS}}}SignatureValue")
    if value is None:
        return
    element = etree.Element(names.q("RequestSignatureValue"))
    element.text = "".join((value.text or "").split())
    position = 1 if result.find(names.q("OpaqueClientData")) is not None else 0
    result.insert(position, element)


@dataclass
class XkmsService:
    """Serves XKMS at `path`; every result is signed with the service key."""

    path: str
    database: Database
    clock: Clock
    audit: AuditLog
    passcodes: PasscodeService
    service_key: ServiceKey
    policy: XkmsPolicy
    ca: CertificateAuthority | None = None
    previous_cas: tuple[CertificateAuthority, ...] = ()
    # Current and previous service and CA certificates, served at `?certificates`.
    certificate_bundle: bytes = b""

    namespace: str = names.XKMS
    elements: frozenset[str] = frozenset(REQUESTS)
    understood_headers: frozenset[tuple[str, str]] = frozenset()
    server_tokens: tuple[str, ...] = ("XKMS/2.0",)

    def __post_init__(self) -> None:
        store = BindingStore()
        hmac_policy, key_policy = signature_policies(self.policy)
        self.key_policy = key_policy
        certificates = None
        if self.ca is not None:
            certificates = Certificates(self.database, self.ca, self.previous_cas)
        self.kiss = Kiss(self.database, self.clock, store, certificates)
        self.krss = Krss(
            database=self.database,
            clock=self.clock,
            audit=self.audit,
            passcodes=self.passcodes,
            store=store,
            policy=self.policy,
            hmac_policy=hmac_policy,
            key_policy=key_policy,
            certificates=certificates,
        )
        self.reissue = Reissue(self.krss)
        self.recover = Recover(self.krss)
        self.two_phase = TwoPhase(
            self.database, self.clock, self.policy.two_phase, self.policy.nonce_lifetime
        )
        self.asynchronous = Asynchronous(
            self.database, self.clock, self.audit, self.policy.approval
        )

    def wsdl(self, endpoint_url: str, query: str) -> tuple[bytes, str] | None:
        """The WSDL and its schemas, addressed to this endpoint; `?certificates`: the
        certificates that sign results and issue binding certificates (PEM)."""
        if query == "certificates" and self.certificate_bundle:
            return self.certificate_bundle, "application/pem-certificate-chain"
        return document(endpoint_url, query)

    def handle(self, request: SoapRequest) -> SoapResponse:
        """Answer one XKMS request with its (signed) result."""
        kind = etree.QName(request.body).localname
        result = self.result_for(kind, request.body, request.endpoint_url, request.client_address)
        sign_enveloped(result, self.service_key.private_key, list(self.service_key.certificates))
        return SoapResponse(result)

    def result_for(
        self,
        kind: str,
        element: Element,
        endpoint_url: str,
        client: str,
        *,
        approved: bool = False,
    ) -> Element:
        """The unsigned result of one request; an XkmsError becomes its result codes.

        `approved`: an administrator approved this deferred request; process it now."""
        result_name = REQUESTS[kind]
        try:
            request = parse_request(element)
        except XkmsError as error:
            self._audit_refusal(kind, client, error)
            return _error_result(kind, element, endpoint_url, result_name, error)
        try:
            self._admit(request, endpoint_url, client)
            result = self._phase_or_defer(request, result_name, endpoint_url, client, approved)
            if result is None:
                result = self._dispatch(request, endpoint_url, client)
        except XkmsError as error:
            log.info("xkms.refused", request=kind, minor=error.minor, reason=error.reason)
            result = new_result(request, result_name, endpoint_url, error.major, error.minor)
        mark_incomplete(result, request)
        add_request_signature_value(result, request)
        return result

    def _phase_or_defer(
        self, request: Request, result_name: str, service: str, client: str, approved: bool
    ) -> Element | None:
        """A Represent or Pending result when the request is not processed now (None: go
        on). A refusal here (RepresentRequired, a bad Nonce, NotSynchronous) is audited like
        any other refused Register, Revoke, Reissue or Recover."""
        try:
            if self.two_phase.required(request):
                represent = self.two_phase.phase_one(request, result_name, service)
                if represent is not None:
                    return represent
            if not approved and self.asynchronous.required(request):
                return self.asynchronous.defer(request, result_name, service, client)
        except XkmsError as error:
            self._audit_refusal(request.kind, client, error)
            raise
        return None

    def _dispatch(self, request: Request, service: str, client: str) -> Element:
        handlers: dict[str, Callable[[Request, str, str], Element]] = {
            "LocateRequest": lambda r, s, _c: self.kiss.locate(r, s),
            "ValidateRequest": lambda r, s, _c: self.kiss.validate(r, s),
            "RegisterRequest": self.krss.register,
            "RevokeRequest": self.krss.revoke,
            "ReissueRequest": self.reissue.reissue,
            "RecoverRequest": self.recover.recover,
            "CompoundRequest": self._compound,
            "PendingRequest": lambda r, s, _c: self.asynchronous.pending_result(r, s),
            "StatusRequest": lambda r, s, _c: self.asynchronous.status(r, s),
        }
        handler = handlers.get(request.kind)
        if handler is None:
            raise MessageNotSupported(f"{request.kind} is not supported")
        return handler(request, service, client)

    def decide(self, entry_id: int, *, approve: bool, actor: Actor) -> PendingEntry:
        """Approve (process now) or reject a request waiting for an administrator."""

        def process(kind: str, element: Element, service: str, client: str) -> Element:
            return self.result_for(kind, element, service, client, approved=True)

        return self.asynchronous.decide(entry_id, approve=approve, actor=actor, process=process)

    def _compound(self, request: Request, service: str, client: str) -> Element:
        """One result per inner request, each processed on its own: one failing inner
        request fails alone."""
        inner = [
            element
            for element in request.element
            if isinstance(element.tag, str)
            and etree.QName(element).namespace == names.XKMS
            and etree.QName(element).localname in COMPOUND_MEMBERS
        ]
        if not inner:
            raise Failure("CompoundRequest holds no request")
        result = new_result(request, "CompoundResult", service)
        seen: set[str | None] = {result.get("Id")}
        for element in inner:
            kind = etree.QName(element).localname
            answer = self.result_for(kind, element, service, client)
            # Ids are xs:ID, unique in the document: a binding that two inner results carry
            # (registered, then located) keeps its Id the first time only.
            for identified in answer.iter():
                if identified.get("Id") is None:
                    continue
                if identified.get("Id") in seen:
                    identified.set("Id", new_id())
                seen.add(identified.get("Id"))
            result.append(answer)
        return result

    def _admit(self, request: Request, endpoint_url: str, client: str) -> None:
        """The checks before any operation: the Service address and the request signature."""
        try:
            self._check_service(request, endpoint_url)
            self._check_request_signature(request)
        except XkmsError as error:
            self._audit_refusal(request.kind, client, error)
            raise

    def _audit_refusal(self, kind: str, client: str, error: XkmsError) -> None:
        """A key registration request refused before its operation ran is audited too."""
        action = AUDITED_ACTIONS.get(kind)
        if action is not None:
            self.krss.audit_refusal(client, action, "key:unknown", error)

    def _check_service(self, request: Request, endpoint_url: str) -> None:
        if request.service != endpoint_url and request.service not in self.policy.accepted_services:
            raise MessageNotSupported(f"Service {request.service[:200]!r} is not this endpoint")

    def _check_request_signature(self, request: Request) -> None:
        signature = request.signature
        if signature is None:
            if self.policy.require_signed_requests:
                raise NoAuthentication("the request is not signed")
            return
        key_info = signature.find(f"{{{names.DS}}}KeyInfo")
        if key_info is None:
            raise NoAuthentication("the request signature carries no KeyInfo")
        try:
            public_key = public_key_from_key_info(key_info)
        except KeyInfoError as exc:
            raise NoAuthentication(f"request signature KeyInfo: {exc}") from None
        trusted = self.policy.trusted_client_keys
        if trusted and key_fingerprint(public_key) not in trusted:
            raise NoAuthentication("the request is signed by a key that is not trusted")
        try:
            verify_key_signature(signature, public_key, request.element, self.key_policy)
        except SignatureError as error:
            raise NoAuthentication(f"request signature: {error.reason}") from None


def _error_result(
    kind: str, element: Element, endpoint_url: str, result_name: str, error: XkmsError
) -> Element:
    """A result for a request too malformed to read its common attributes: it answers the
    request's Id and echoes its OpaqueClientData where the schema lets a result carry them."""
    request_id = element.get("Id") or ""
    try:
        opaque = opaque_client_data(element)
    except XkmsError:
        opaque = None
    request = Request(
        kind=kind,
        element=element,
        id=request_id if is_ncname(request_id) else "",
        service=endpoint_url,
        nonce=None,
        original_request_id=None,
        response_limit=None,
        opaque_client_data=opaque,
        response_mechanisms=frozenset(),
        respond_with=frozenset(),
        signature=None,
    )
    result = new_result(request, result_name, endpoint_url, error.major, error.minor or None)
    if not request.id:
        del result.attrib["RequestId"]
    return result
