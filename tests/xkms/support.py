"""An XKMS client for the service tests, written from the Recommendation, not from Passport.

Requests are built and signed the way a client builds them (python-xmlsec, the client's own
keys and passcodes), wrapped byte for byte in SOAP 1.1 or 1.2 envelopes, and every result is
checked as a careful client checks it: it validates against xkms.xsd, answers the request's
Id, echoes its OpaqueClientData, and its signature verifies with signxml against the service
certificate — a second XML-signature implementation beside the service's own xmlsec.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import signxml
import xmlsec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from passport.xkms.documents import xkms_schema
from passport.xkms.secrets import authentication_key, derive

XKMS = "http://www.w3.org/2002/03/xkms#"
DS = "http://www.w3.org/2000/09/xmldsig#"
SOAP_ENV = {
    "1.1": "http://schemas.xmlsoap.org/soap/envelope/",
    "1.2": "http://www.w3.org/2003/05/soap-envelope",
}
CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
VERSIONS = ("1.1", "1.2")
# The Recommendation's files: ../shared/xkms beside the repository (as CI lays it out).
SHARED_XKMS = Path(__file__).resolve().parents[2] / ".." / "shared" / "xkms"
SAMPLES = SHARED_XKMS / "samples"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

RESULT_NAMES = {
    "LocateRequest": "LocateResult",
    "ValidateRequest": "ValidateResult",
    "RegisterRequest": "RegisterResult",
    "RevokeRequest": "RevokeResult",
    "ReissueRequest": "ReissueResult",
    "RecoverRequest": "RecoverResult",
    "CompoundRequest": "CompoundResult",
    "StatusRequest": "StatusResult",
}

SIGNATURE = XKMS + "Signature"
ENCRYPTION = XKMS + "Encryption"
EXCHANGE = XKMS + "Exchange"
RESPOND_KEY_NAME = XKMS + "KeyName"
RESPOND_KEY_VALUE = XKMS + "KeyValue"

_c = xmlsec.constants
RSA_SHA256 = _c.TransformRsaSha256
RSA_SHA1 = _c.TransformRsaSha1
SHA256 = _c.TransformSha256
SHA1 = _c.TransformSha1
Transform = type(RSA_SHA256)

# The three UseKeyWith pairs of samples/registerRequest.xml.
SAMPLE_USE_KEY_WITH = (
    ("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"'),
    ("urn:ietf:rfc:2633", "alice@example.com"),
    ("http://ca.example.com/cps/20030401/class3", "alice@example.com"),
)
SAMPLE_SERVICE = "http://www.example.org/XKMS"
SAMPLE_PASSCODE = "024837"

Pair = tuple[str, str]


def x(local: str) -> str:
    """`{xkms}local`."""
    return f"{{{XKMS}}}{local}"


def ds(local: str) -> str:
    """`{ds}local`."""
    return f"{{{DS}}}{local}"


def short(uri: str | None) -> str | None:
    """The fragment of an XKMS URI (`...#Success` -> `Success`)."""
    return None if uri is None else uri.rsplit("#", 1)[-1]


def new_id() -> str:
    """A fresh xs:ID, as a client makes them."""
    return "C" + secrets.token_hex(12)


# Samples and envelopes -------------------------------------------------------------------


def sample_body(name: str) -> bytes:
    """A sample's bytes after its XML declaration, unchanged."""
    raw = (SAMPLES / name).read_bytes()
    if raw.startswith(b"<?xml"):
        raw = raw[raw.index(b"?>") + 2 :]
    return raw


def soap_envelope(version: str, body: bytes) -> bytes:
    """`body` (bytes, unchanged) as the only content of a SOAP Body."""
    namespace = SOAP_ENV[version].encode()
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<soap:Envelope xmlns:soap="' + namespace + b'"><soap:Body>' + body + b"</soap:Body>"
        b"</soap:Envelope>"
    )


def serialize(request: etree._Element | bytes) -> bytes:
    """A request element as the bytes a client sends (bytes pass through)."""
    return request if isinstance(request, bytes) else etree.tostring(request)


# Building requests ----------------------------------------------------------------------


def new_request(
    kind: str,
    service: str,
    *,
    request_id: str | None = None,
    opaque: Sequence[bytes] = (),
    respond_with: Iterable[str] = (),
    response_limit: int | None = None,
) -> etree._Element:
    """An empty request of this kind with the common attributes and elements, schema order."""
    request = etree.Element(x(kind), nsmap={None: XKMS, "ds": DS})  # type: ignore[dict-item]
    request.set("Id", request_id or new_id())
    request.set("Service", service)
    if response_limit is not None:
        request.set("ResponseLimit", str(response_limit))
    if opaque:
        holder = etree.SubElement(request, x("OpaqueClientData"))
        for data in opaque:
            etree.SubElement(holder, x("OpaqueData")).text = base64.b64encode(data).decode()
    for uri in respond_with:
        etree.SubElement(request, x("RespondWith")).text = uri
    return request


def key_value(public_key: rsa.RSAPublicKey) -> etree._Element:
    """ds:KeyValue/ds:RSAKeyValue of a public key."""
    numbers = public_key.public_numbers()
    value = etree.Element(ds("KeyValue"))
    rsa_value = etree.SubElement(value, ds("RSAKeyValue"))
    for tag, number in (("Modulus", numbers.n), ("Exponent", numbers.e)):
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        etree.SubElement(rsa_value, ds(tag)).text = base64.b64encode(raw).decode()
    return value


def key_binding(
    parent: etree._Element,
    tag: str,
    *,
    key: rsa.RSAPublicKey | None = None,
    key_name: str | None = None,
    usages: Sequence[str] = (),
    use_key_with: Sequence[Pair] = (),
    not_before: datetime | None = None,
    not_on_or_after: datetime | None = None,
    revocation_code_identifier: bytes | None = None,
    time_instant: datetime | None = None,
    status: str | None = None,
    with_id: bool = True,
) -> etree._Element:
    """A key binding of any flavour appended to `parent`, children in schema order."""
    binding = etree.SubElement(parent, x(tag))
    if with_id:
        binding.set("Id", new_id())
    if key is not None or key_name is not None:
        key_info = etree.SubElement(binding, ds("KeyInfo"))
        if key_name is not None:
            etree.SubElement(key_info, ds("KeyName")).text = key_name
        if key is not None:
            key_info.append(key_value(key))
    for usage in usages:
        etree.SubElement(binding, x("KeyUsage")).text = usage
    for application, identifier in use_key_with:
        etree.SubElement(binding, x("UseKeyWith"), Application=application, Identifier=identifier)
    if not_before is not None or not_on_or_after is not None:
        interval = etree.SubElement(binding, x("ValidityInterval"))
        if not_before is not None:
            interval.set("NotBefore", xs_datetime(not_before))
        if not_on_or_after is not None:
            interval.set("NotOnOrAfter", xs_datetime(not_on_or_after))
    if time_instant is not None:
        etree.SubElement(binding, x("TimeInstant"), Time=xs_datetime(time_instant))
    if revocation_code_identifier is not None:
        identifier = etree.SubElement(binding, x("RevocationCodeIdentifier"))
        identifier.text = base64.b64encode(revocation_code_identifier).decode()
    if status is not None:
        etree.SubElement(binding, x("Status"), StatusValue=XKMS + status)
    return binding


def xs_datetime(value: datetime) -> str:
    """Naive UTC as xs:dateTime."""
    return value.replace(microsecond=0).isoformat() + "Z"


def _sign(
    container: etree._Element,
    target: etree._Element,
    key: xmlsec.Key,
    method: Transform,
    digest: Transform,
    *,
    enveloped: bool = False,
    first: bool = False,
) -> etree._Element:
    """A ds:Signature in `container` over `target` (by its Id), exclusive c14n."""
    signature = xmlsec.template.create(target, _c.TransformExclC14N, method, ns="ds")
    if first:
        container.insert(0, signature)
    else:
        container.append(signature)
    reference = xmlsec.template.add_reference(signature, digest, uri="#" + target.get("Id", ""))
    if enveloped:
        xmlsec.template.add_transform(reference, _c.TransformEnveloped)
    xmlsec.template.add_transform(reference, _c.TransformExclC14N)
    xmlsec.tree.add_ids(target.getroottree().getroot(), ["Id"])
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(signature)
    return signature


def _xmlsec_key(private_key: rsa.RSAPrivateKey) -> xmlsec.Key:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return xmlsec.Key.from_memory(pem, _c.KeyDataFormatPem)


def authenticate(request: etree._Element, binding: etree._Element, passcode: str) -> None:
    """Authentication/KeyBindingAuthentication: HMAC-SHA1 over the binding, keyed with the
    passcode's authentication key (derivation 0x01), SHA-1 digest — as the samples do."""
    holder = etree.SubElement(
        etree.SubElement(request, x("Authentication")), x("KeyBindingAuthentication")
    )
    key = xmlsec.Key.from_binary_data(_c.KeyDataHmac, authentication_key(passcode))
    _sign(holder, binding, key, _c.TransformHmacSha1, SHA1)


def prove_possession(
    request: etree._Element,
    binding: etree._Element,
    private_key: rsa.RSAPrivateKey,
    *,
    method: Transform = RSA_SHA256,
    digest: Transform = SHA256,
) -> None:
    """ProofOfPossession: a signature over the binding by `private_key`."""
    holder = etree.SubElement(request, x("ProofOfPossession"))
    _sign(holder, binding, _xmlsec_key(private_key), method, digest)


def sign_request(request: etree._Element, private_key: rsa.RSAPrivateKey) -> None:
    """An enveloped RSA-SHA256 signature over the whole request, as its first child, with
    the signer's key in KeyInfo. Call it last: it covers everything."""
    signature = _sign(
        request, request, _xmlsec_key(private_key), RSA_SHA256, SHA256, enveloped=True, first=True
    )
    etree.SubElement(signature, ds("KeyInfo")).append(key_value(private_key.public_key()))


def register_request(
    service: str,
    key: rsa.RSAPrivateKey,
    passcode: str,
    use_key_with: Sequence[Pair],
    *,
    usages: Sequence[str] = (SIGNATURE,),
    key_name: str | None = None,
    revocation_code: bytes | None = None,
    not_before: datetime | None = None,
    not_on_or_after: datetime | None = None,
    proof: bool = True,
    proof_key: rsa.RSAPrivateKey | None = None,
    proof_method: Transform = RSA_SHA256,
    proof_digest: Transform = SHA256,
    respond_with: Iterable[str] = (),
    opaque: Sequence[bytes] = (),
) -> etree._Element:
    """A RegisterRequest for `key`: PrototypeKeyBinding, KeyBindingAuthentication with the
    passcode, and (unless `proof` is False) a ProofOfPossession by `proof_key` or the key."""
    request = new_request("RegisterRequest", service, respond_with=respond_with, opaque=opaque)
    binding = key_binding(
        request,
        "PrototypeKeyBinding",
        key=key.public_key(),
        key_name=key_name,
        usages=usages,
        use_key_with=use_key_with,
        not_before=not_before,
        not_on_or_after=not_on_or_after,
        revocation_code_identifier=None
        if revocation_code is None
        else revocation_code_identifier(revocation_code),
    )
    authenticate(request, binding, passcode)
    if proof:
        prove_possession(
            request, binding, proof_key or key, method=proof_method, digest=proof_digest
        )
    return request


def revocation_code_identifier(code: bytes) -> bytes:
    """RevocationCodeIdentifier = derive(RevocationCode, 0x03) (XKMS Part 2, 8.1)."""
    return derive(code, 0x03, 20)


def revoke_request(
    service: str,
    public_key: rsa.RSAPublicKey,
    *,
    revocation_code: bytes | None = None,
    passcode: str | None = None,
) -> etree._Element:
    """A RevokeRequest for the binding of `public_key`, by RevocationCode or by a passcode's
    KeyBindingAuthentication over the RevokeKeyBinding."""
    request = new_request("RevokeRequest", service)
    binding = key_binding(request, "RevokeKeyBinding", key=public_key, status="Indeterminate")
    if revocation_code is not None:
        code = etree.SubElement(request, x("RevocationCode"))
        code.text = base64.b64encode(revocation_code).decode()
    if passcode is not None:
        authenticate(request, binding, passcode)
    return request


def query_request(
    kind: str,
    service: str,
    *,
    key: rsa.RSAPublicKey | None = None,
    key_name: str | None = None,
    usages: Sequence[str] = (),
    use_key_with: Sequence[Pair] = (),
    time_instant: datetime | None = None,
    respond_with: Iterable[str] = (),
    response_limit: int | None = None,
    opaque: Sequence[bytes] = (),
) -> etree._Element:
    """A LocateRequest or ValidateRequest with one QueryKeyBinding."""
    request = new_request(
        kind, service, respond_with=respond_with, response_limit=response_limit, opaque=opaque
    )
    key_binding(
        request,
        "QueryKeyBinding",
        key=key,
        key_name=key_name,
        usages=usages,
        use_key_with=use_key_with,
        time_instant=time_instant,
        with_id=False,
    )
    return request


# Reading and checking results -----------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """A key binding of a result, as a client reads it."""

    element: etree._Element

    @property
    def id(self) -> str:
        return self.element.get("Id", "")

    @property
    def status(self) -> str | None:
        status = self.element.find(x("Status"))
        return None if status is None else short(status.get("StatusValue"))

    @property
    def invalid_reasons(self) -> list[str | None]:
        return [short(e.text) for e in self.element.iterfind(f"{x('Status')}/{x('InvalidReason')}")]

    @property
    def key_name(self) -> str | None:
        return self.element.findtext(f"{ds('KeyInfo')}/{ds('KeyName')}")

    @property
    def modulus(self) -> int | None:
        text = self.element.findtext(
            f"{ds('KeyInfo')}/{ds('KeyValue')}/{ds('RSAKeyValue')}/{ds('Modulus')}"
        )
        return None if text is None else int.from_bytes(base64.b64decode("".join(text.split())))

    @property
    def use_key_with(self) -> list[Pair]:
        return [
            (e.get("Application", ""), e.get("Identifier", ""))
            for e in self.element.iterfind(x("UseKeyWith"))
        ]

    @property
    def usages(self) -> list[str | None]:
        return [short(e.text) for e in self.element.iterfind(x("KeyUsage"))]


@dataclass(frozen=True)
class Result:
    """A checked XKMS result and the response it came in."""

    element: etree._Element
    response_body: bytes

    @property
    def major(self) -> str | None:
        return short(self.element.get("ResultMajor"))

    @property
    def minor(self) -> str | None:
        return short(self.element.get("ResultMinor"))

    @property
    def codes(self) -> tuple[str | None, str | None]:
        """(ResultMajor, ResultMinor) by their fragments, e.g. ("Sender", "Refused")."""
        return self.major, self.minor

    def bindings(self, tag: str = "KeyBinding") -> list[Binding]:
        return [Binding(e) for e in self.element.iterfind(x(tag))]

    def binding(self, tag: str = "KeyBinding") -> Binding:
        """The only binding of this tag."""
        found = self.bindings(tag)
        assert len(found) == 1, f"{len(found)} {tag} in {etree.tostring(self.element)[:2000]!r}"
        return found[0]


def result_element(response_body: bytes, version: str) -> etree._Element:
    """The one child of the response's SOAP Body."""
    envelope = etree.fromstring(response_body, PARSER)
    namespace = SOAP_ENV[version]
    assert envelope.tag == f"{{{namespace}}}Envelope", response_body[:500]
    body = envelope.find(f"{{{namespace}}}Body")
    assert body is not None
    children = [child for child in body if isinstance(child.tag, str)]
    assert len(children) == 1, response_body[:2000]
    return children[0]


def verify_result_signature(result: etree._Element, service_certificate: bytes) -> None:
    """signxml verifies the result's signature, over the result itself, with the service
    certificate (the result serialised as it sits in the response)."""
    verified = signxml.XMLVerifier().verify(
        etree.tostring(result),
        x509_cert=service_certificate.decode("ascii"),
        expect_references=1,
    )
    assert not isinstance(verified, list)
    signed = verified.signed_xml
    assert signed is not None
    assert signed.tag == result.tag
    assert signed.get("Id") == result.get("Id")


def check_result(
    request: bytes, response: httpx.Response, version: str, service_certificate: bytes
) -> Result:
    """The result of `request`, after every check a client makes (see the module doc)."""
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"].startswith(CONTENT_TYPES[version].split(";")[0])
    sent = etree.fromstring(request, PARSER)
    result = result_element(response.content, version)
    kind = etree.QName(sent).localname
    assert result.tag == x(RESULT_NAMES[kind]), result.tag
    standalone = etree.fromstring(etree.tostring(result), PARSER)
    schema = xkms_schema()
    assert schema.validate(standalone), schema.error_log
    assert result.get("RequestId") == sent.get("Id")
    assert canonical(sent.find(x("OpaqueClientData"))) == canonical(
        result.find(x("OpaqueClientData"))
    )
    verify_result_signature(result, service_certificate)
    return Result(result, response.content)


def canonical(element: etree._Element | None) -> bytes | None:
    """Exclusive c14n of an element (None stays None)."""
    if element is None:
        return None
    return etree.tostring(element, method="c14n", exclusive=True)


class XkmsHttp:
    """Sends XKMS requests over HTTP (any httpx.AsyncClient) and checks every result."""

    def __init__(
        self, client: httpx.AsyncClient, service_certificate: bytes, path: str = "/xkms"
    ) -> None:
        self.client = client
        self.service_certificate = service_certificate
        self.path = path

    async def post(self, request: etree._Element | bytes, version: str = "1.1") -> httpx.Response:
        """POST the request in an envelope of `version`; the raw response."""
        return await self.client.post(
            self.path,
            content=soap_envelope(version, serialize(request)),
            headers={"content-type": CONTENT_TYPES[version]},
        )

    async def send(self, request: etree._Element | bytes, version: str = "1.1") -> Result:
        """POST the request and check its result."""
        response = await self.post(request, version)
        return check_result(serialize(request), response, version, self.service_certificate)


def post_sync(
    client: httpx.Client, request: etree._Element | bytes, version: str = "1.1", path: str = "/xkms"
) -> httpx.Response:
    """POST a request in an envelope of `version` with a blocking client."""
    return client.post(
        path,
        content=soap_envelope(version, serialize(request)),
        headers={"content-type": CONTENT_TYPES[version]},
    )


def send_sync(
    client: httpx.Client,
    request: etree._Element | bytes,
    service_certificate: bytes,
    version: str = "1.1",
    path: str = "/xkms",
) -> Result:
    """POST a request with a blocking client and check its result."""
    response = post_sync(client, request, version, path)
    return check_result(serialize(request), response, version, service_certificate)
