"""Client-side builders and checks for Reissue, Recover, Compound, the two-phase protocol,
asynchronous processing and X.509 over HTTP, beside tests/xkms/support.py.

Like support.py these are written from the Recommendation: the client decrypts a returned
PrivateKey itself (XML Encryption CBC, the IV leading the CipherValue, the last byte
counting the padding) with the 0x04 derivation of its passcode, and every result is
validated against xkms.xsd and its signature verified with signxml.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import func, select

from passport.storage.tables import xkms_certificate, xkms_key_binding, xkms_passcode
from passport.xkms.documents import xkms_schema
from passport.xkms.secrets import derive, prepare

from .conftest import Harness
from .support import (
    CONTENT_TYPES,
    PARSER,
    XKMS,
    Pair,
    Result,
    authenticate,
    canonical,
    ds,
    key_binding,
    new_request,
    prove_possession,
    result_element,
    serialize,
    verify_result_signature,
    x,
)

XENC = "http://www.w3.org/2001/04/xmlenc#"
PENDING = XKMS + "Pending"
REPRESENT = XKMS + "Represent"
REQUEST_SIGNATURE_VALUE = XKMS + "RequestSignatureValue"
RESPOND_PRIVATE_KEY = XKMS + "PrivateKey"
RESPOND_X509_CERT = XKMS + "X509Cert"
RESPOND_X509_CHAIN = XKMS + "X509Chain"
RESPOND_X509_CRL = XKMS + "X509CRL"

# The result that answers each request (PendingRequest: the deferred operation's result, or
# a bare Result while it waits).
RESULTS = {
    "LocateRequest": ("LocateResult",),
    "ValidateRequest": ("ValidateResult",),
    "RegisterRequest": ("RegisterResult",),
    "RevokeRequest": ("RevokeResult",),
    "ReissueRequest": ("ReissueResult",),
    "RecoverRequest": ("RecoverResult",),
    "CompoundRequest": ("CompoundResult",),
    "StatusRequest": ("StatusResult",),
    "PendingRequest": (
        "Result",
        "RegisterResult",
        "ReissueResult",
        "RevokeResult",
        "RecoverResult",
        "CompoundResult",
    ),
}
# Cipher URI -> (key bytes, block bytes), XML Encryption.
CIPHERS = {XENC + "tripledes-cbc": (24, 8), XENC + "aes128-cbc": (16, 16)}


# Building requests ----------------------------------------------------------------------


def offer(request: etree._Element, *mechanisms: str) -> etree._Element:
    """ResponseMechanism elements, where the schema puts them: after OpaqueClientData, before
    RespondWith and everything else."""
    position = 0
    for index, element in enumerate(request):
        if element.tag in (ds("Signature"), x("MessageExtension"), x("OpaqueClientData")):
            position = index + 1
    for offset, mechanism in enumerate(mechanisms):
        element = etree.Element(x("ResponseMechanism"))
        element.text = mechanism
        request.insert(position + offset, element)
    return request


def generated_register_request(
    service: str,
    passcode: str,
    use_key_with: Sequence[Pair],
    *,
    respond_with: Iterable[str] = (),
    mechanisms: Sequence[str] = (),
    notify: str | None = None,
    opaque: Sequence[bytes] = (),
) -> etree._Element:
    """A RegisterRequest for a key the service makes: no KeyInfo, RespondWith #PrivateKey,
    KeyBindingAuthentication with the passcode (no ProofOfPossession: there is no key)."""
    request = new_request(
        "RegisterRequest",
        service,
        respond_with=[RESPOND_PRIVATE_KEY, *respond_with],
        opaque=opaque,
    )
    offer(request, *mechanisms)
    if notify is not None:
        etree.SubElement(request, x("PendingNotification"), Mechanism="mailto:", Identifier=notify)
    binding = key_binding(request, "PrototypeKeyBinding", use_key_with=use_key_with)
    authenticate(request, binding, passcode)
    return request


def reissue_request(
    service: str,
    key: rsa.RSAPrivateKey,
    passcode: str,
    use_key_with: Sequence[Pair],
    *,
    not_on_or_after: datetime | None = None,
    proof: bool = True,
    proof_key: rsa.RSAPrivateKey | None = None,
    respond_with: Iterable[str] = (),
    mechanisms: Sequence[str] = (),
) -> etree._Element:
    """A ReissueRequest for the binding of `key`: KeyBindingAuthentication with the passcode
    and (unless `proof` is False) a ProofOfPossession by `proof_key` or the key."""
    request = new_request("ReissueRequest", service, respond_with=respond_with)
    offer(request, *mechanisms)
    binding = key_binding(
        request,
        "ReissueKeyBinding",
        key=key.public_key(),
        use_key_with=use_key_with,
        not_on_or_after=not_on_or_after,
        status="Valid",
    )
    authenticate(request, binding, passcode)
    if proof:
        prove_possession(request, binding, proof_key or key)
    return request


def recover_request(
    service: str,
    public_key: rsa.RSAPublicKey,
    passcode: str,
    *,
    respond_with: Iterable[str] = (),
    mechanisms: Sequence[str] = (),
) -> etree._Element:
    """A RecoverRequest for the binding of `public_key`, authenticated with the passcode."""
    request = new_request("RecoverRequest", service, respond_with=respond_with)
    offer(request, *mechanisms)
    binding = key_binding(request, "RecoverKeyBinding", key=public_key, status="Indeterminate")
    authenticate(request, binding, passcode)
    return request


def compound_request(service: str, *inner: etree._Element) -> etree._Element:
    """A CompoundRequest holding these requests, in order."""
    request = new_request("CompoundRequest", service)
    for element in inner:
        request.append(element)
    return request


def response_id_request(kind: str, service: str, response_id: str) -> etree._Element:
    """A PendingRequest or StatusRequest for a ResponseId."""
    request = new_request(kind, service)
    request.set("ResponseId", response_id)
    return request


def phase_two(request: etree._Element, first: etree._Element, nonce: str) -> etree._Element:
    """`request` made the phase-two request of `first`: its Nonce, OriginalRequestId."""
    request.set("Nonce", nonce)
    request.set("OriginalRequestId", first.get("Id", ""))
    return request


# Reading results ------------------------------------------------------------------------


def check_any(
    request: bytes,
    response: httpx.Response,
    version: str,
    service_certificate: bytes,
    *,
    request_id: str | None = None,
) -> Result:
    """support.check_result for every request kind: the result element the request calls
    for, valid against xkms.xsd, answering `request_id` (default: the request's Id),
    echoing OpaqueClientData, signed by the service (signxml)."""
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"].startswith(CONTENT_TYPES[version].split(";")[0])
    sent = etree.fromstring(request, PARSER)
    result = result_element(response.content, version)
    kind = etree.QName(sent).localname
    assert etree.QName(result).localname in RESULTS[kind], result.tag
    assert etree.QName(result).namespace == XKMS
    standalone = etree.fromstring(etree.tostring(result), PARSER)
    schema = xkms_schema()
    assert schema.validate(standalone), schema.error_log
    assert result.get("RequestId") == (request_id or sent.get("Id"))
    if kind != "PendingRequest":
        assert canonical(sent.find(x("OpaqueClientData"))) == canonical(
            result.find(x("OpaqueClientData"))
        )
    verify_result_signature(result, service_certificate)
    return Result(result, response.content)


async def send(
    xkms: Harness,
    request: etree._Element | bytes,
    version: str = "1.1",
    *,
    request_id: str | None = None,
) -> Result:
    """POST through the harness's client and check the result as `check_any` does."""
    response = await xkms.http.post(request, version)
    return check_any(
        serialize(request),
        response,
        version,
        xkms.http.service_certificate,
        request_id=request_id,
    )


def inner_results(result: Result) -> list[Result]:
    """The results inside a CompoundResult, in order."""
    return [
        Result(element, result.response_body)
        for element in result.element
        if isinstance(element.tag, str) and etree.QName(element).localname.endswith("Result")
    ]


def _number(pair: etree._Element, tag: str) -> int:
    text = pair.findtext(x(tag))
    assert text is not None, f"RSAKeyPair without {tag}"
    return int.from_bytes(base64.b64decode("".join(text.split())), "big")


def decrypt_private_key(result: Result, passcode: str) -> rsa.RSAPrivateKey:
    """The RSAKeyPair in the result's PrivateKey, decrypted as a client does: the 0x04
    derivation of the passcode keys the cipher EncryptionMethod names."""
    data = result.element.find(f"{x('PrivateKey')}/{{{XENC}}}EncryptedData")
    assert data is not None, "no PrivateKey/xenc:EncryptedData"
    method = data.find(f"{{{XENC}}}EncryptionMethod")
    assert method is not None
    key_bytes, block = CIPHERS[method.get("Algorithm", "")]
    raw = base64.b64decode(data.findtext(f"{{{XENC}}}CipherData/{{{XENC}}}CipherValue") or "")
    key = derive(prepare(passcode), 0x04, key_bytes)
    iv, ciphertext = raw[:block], raw[block:]
    algorithm = TripleDES(key) if block == 8 else algorithms.AES(key)
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    assert 1 <= padded[-1] <= block, "bad padding"
    pair = etree.fromstring(padded[: -padded[-1]], PARSER)
    assert pair.tag == x("RSAKeyPair"), pair.tag
    public = rsa.RSAPublicNumbers(_number(pair, "Exponent"), _number(pair, "Modulus"))
    return rsa.RSAPrivateNumbers(
        _number(pair, "P"),
        _number(pair, "Q"),
        _number(pair, "D"),
        _number(pair, "DP"),
        _number(pair, "DQ"),
        _number(pair, "InverseQ"),
        public,
    ).private_key()


def certificates(binding: etree._Element) -> list[x509.Certificate]:
    """The X.509 certificates in a binding's KeyInfo (leaf first)."""
    return [
        x509.load_der_x509_certificate(base64.b64decode("".join((e.text or "").split())))
        for e in binding.iter(ds("X509Certificate"))
    ]


def cipher_of(result: Result) -> str | None:
    """The EncryptionMethod Algorithm of the result's PrivateKey."""
    method = result.element.find(
        f"{x('PrivateKey')}/{{{XENC}}}EncryptedData/{{{XENC}}}EncryptionMethod"
    )
    return None if method is None else method.get("Algorithm")


# What the service stored ----------------------------------------------------------------


# id, not_before, not_after, revoked_at
BindingRow = tuple[int, datetime, datetime | None, datetime | None]


@dataclass(frozen=True)
class Stored:
    """Everything a refused request must leave as it was."""

    bindings: list[BindingRow]
    uses_left: list[int]
    certificates: int


def stored(xkms: Harness) -> Stored:
    """The key bindings (validity, revocation), passcode uses and certificates now."""
    with xkms.services.database.read() as connection:
        rows = connection.execute(
            select(
                xkms_key_binding.c.id,
                xkms_key_binding.c.not_before,
                xkms_key_binding.c.not_after,
                xkms_key_binding.c.revoked_at,
            ).order_by(xkms_key_binding.c.id)
        )
        bindings: list[BindingRow] = [
            (row.id, row.not_before, row.not_after, row.revoked_at) for row in rows
        ]
        uses = [
            int(row.uses_left)
            for row in connection.execute(
                select(xkms_passcode.c.uses_left).order_by(xkms_passcode.c.id)
            )
        ]
        count = connection.execute(select(func.count()).select_from(xkms_certificate))
        return Stored(bindings, uses, int(count.scalar_one()))


def refusals(xkms: Harness, action: str) -> list[str]:
    """The details of the refused (success false) audit events of one action."""
    return [e.detail for e in xkms.audit(action) if not e.success]


def certificate_query(
    kind: str,
    service: str,
    chain: Sequence[x509.Certificate],
    *,
    respond_with: Iterable[str] = (),
) -> etree._Element:
    """A LocateRequest or ValidateRequest whose QueryKeyBinding carries a certificate chain
    (leaf first) in ds:X509Data."""
    request = new_request(kind, service, respond_with=respond_with)
    binding = etree.SubElement(request, x("QueryKeyBinding"))
    data = etree.SubElement(etree.SubElement(binding, ds("KeyInfo")), ds("X509Data"))
    for certificate in chain:
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(data, ds("X509Certificate")).text = base64.b64encode(der).decode()
    return request


def foreign_chain(
    subject_key: rsa.RSAPrivateKey, issuer_key: rsa.RSAPrivateKey, now: datetime
) -> list[x509.Certificate]:
    """A certificate for `subject_key` from a CA Passport never heard of, and that CA's own
    self-signed certificate: the same key, another issuer."""
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Foreign Test CA")])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Carol")])

    def build(name: x509.Name, key: rsa.RSAPublicKey, ca: bool) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256())
        )

    return [
        build(subject, subject_key.public_key(), False),
        build(issuer, issuer_key.public_key(), True),
    ]
