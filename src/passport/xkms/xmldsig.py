"""XML signatures with python-xmlsec, after checking what each signature covers.

xmlsec checks that a signature verifies; it does not check that it signs the element the
service acts on, and it accepts duplicate Ids. So before verifying, this module insists on
one Reference to `#Id` of the expected element, an Id that occurs once in the document, and
algorithms and key sizes that the policy allows. The caller always supplies the key: a
signature's own KeyInfo is never trusted.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from typing import Literal

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from passport.xkms.keys import PublicKey, key_fingerprint, rsa_key_bits

_c = xmlsec.constants
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"

_SIGNATURE_TRANSFORMS = {
    transform.href: transform
    for transform in (
        _c.TransformRsaSha1,
        _c.TransformRsaSha256,
        _c.TransformRsaSha384,
        _c.TransformRsaSha512,
        _c.TransformEcdsaSha1,
        _c.TransformEcdsaSha256,
        _c.TransformEcdsaSha384,
        _c.TransformEcdsaSha512,
        _c.TransformHmacSha1,
        _c.TransformHmacSha256,
        _c.TransformHmacSha384,
        _c.TransformHmacSha512,
    )
}
_DIGEST_TRANSFORMS = {
    transform.href: transform
    for transform in (_c.TransformSha1, _c.TransformSha256, _c.TransformSha384, _c.TransformSha512)
}
_C14N_TRANSFORMS = {
    transform.href: transform
    for transform in (_c.TransformExclC14N, _c.TransformExclC14NWithComments, _c.TransformInclC14N)
}
_REFERENCE_TRANSFORMS = {**_C14N_TRANSFORMS, _c.TransformEnveloped.href: _c.TransformEnveloped}

RSA_SHA1 = _c.TransformRsaSha1.href
RSA_SHA256 = _c.TransformRsaSha256.href
ECDSA_SHA1 = _c.TransformEcdsaSha1.href
HMAC_SHA1 = _c.TransformHmacSha1.href
SHA1 = _c.TransformSha1.href
SHA256 = _c.TransformSha256.href
EXC_C14N = _c.TransformExclC14N.href
ENVELOPED_SIGNATURE = _c.TransformEnveloped.href

RSA_METHODS = frozenset(uri for uri in _SIGNATURE_TRANSFORMS if "#rsa-" in uri)
ECDSA_METHODS = frozenset(uri for uri in _SIGNATURE_TRANSFORMS if "#ecdsa-" in uri)
HMAC_METHODS = frozenset(uri for uri in _SIGNATURE_TRANSFORMS if "#hmac-" in uri)
_SHA1_METHODS = frozenset({RSA_SHA1, ECDSA_SHA1, HMAC_SHA1})
STRONG_SIGNATURE_METHODS = frozenset(_SIGNATURE_TRANSFORMS) - _SHA1_METHODS
STRONG_DIGEST_METHODS = frozenset(_DIGEST_TRANSFORMS) - {SHA1}
TRANSFORMS = frozenset(_REFERENCE_TRANSFORMS)

# Attribute names (any namespace, xml:id included) that some verifier may resolve "#x" with.
_ID_ATTRIBUTE_NAMES = frozenset({"Id", "ID", "id"})
_MIN_HMAC_KEY_BYTES = 16
_MIN_EC_BITS = 256

SignatureErrorKind = Literal["algorithm", "key", "coverage", "invalid"]


class SignatureError(Exception):
    """A signature refused: `kind` says why in terms the caller maps to a ResultMinor.

    algorithm: an algorithm or transform the policy does not allow; key: a key too small;
    coverage: the signature does not cover exactly the expected element; invalid: it does
    not verify. `reason` is for logs and never holds key material.
    """

    def __init__(self, kind: SignatureErrorKind, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind: SignatureErrorKind = kind
        self.reason = reason


@dataclass(frozen=True)
class SignaturePolicy:
    """Which signature, digest and transform algorithms are accepted, and how big an RSA key."""

    signature_methods: frozenset[str] = STRONG_SIGNATURE_METHODS
    digest_methods: frozenset[str] = STRONG_DIGEST_METHODS
    transforms: frozenset[str] = TRANSFORMS
    min_rsa_bits: int = 2048

    def __post_init__(self) -> None:
        for allowed, known, what in (
            (self.signature_methods, _SIGNATURE_TRANSFORMS, "signature method"),
            (self.digest_methods, _DIGEST_TRANSFORMS, "digest method"),
            (self.transforms, _REFERENCE_TRANSFORMS, "transform"),
        ):
            unknown = set(allowed) - set(known)
            if unknown:
                raise ValueError(f"unsupported {what}: {', '.join(sorted(unknown))}")
        if self.min_rsa_bits < 1:
            raise ValueError("min_rsa_bits must be positive")

    @classmethod
    def default(cls, *, legacy_sha1: bool = False, min_rsa_bits: int = 2048) -> SignaturePolicy:
        """SHA-256 or stronger; with `legacy_sha1`, also RSA-SHA1, ECDSA-SHA1 and SHA-1 digests."""
        if legacy_sha1:
            return cls(
                signature_methods=STRONG_SIGNATURE_METHODS | _SHA1_METHODS,
                digest_methods=STRONG_DIGEST_METHODS | {SHA1},
                min_rsa_bits=min_rsa_bits,
            )
        return cls(min_rsa_bits=min_rsa_bits)

    @classmethod
    def key_binding_authentication(cls) -> SignaturePolicy:
        """HMAC signatures only, HMAC-SHA1 and SHA-1 digests included (as XKMS clients use)."""
        return cls(
            signature_methods=HMAC_METHODS,
            digest_methods=STRONG_DIGEST_METHODS | {SHA1},
        )


def _ds(local: str) -> str:
    return f"{{{DS}}}{local}"


def _one(parent: etree._Element, local: str) -> etree._Element:
    children = list(parent.iterchildren(_ds(local)))
    if len(children) != 1:
        raise SignatureError("invalid", f"expected one ds:{local}, found {len(children)}")
    return children[0]


def _algorithm(element: etree._Element) -> str:
    return element.get("Algorithm") or ""


def _elements_with_id(root: etree._Element, value: str) -> list[etree._Element]:
    return [
        element
        for element in root.iter(etree.Element)
        if any(
            attribute_value == value and etree.QName(name).localname in _ID_ATTRIBUTE_NAMES
            for name, attribute_value in element.attrib.items()
        )
    ]


def _check_coverage(
    signature: etree._Element, signed_info: etree._Element, expected: etree._Element
) -> etree._Element:
    """Return the one Reference, after checking that it points at `expected` and only there."""
    root = expected.getroottree().getroot()
    if signature.getroottree().getroot() is not root:
        raise SignatureError("coverage", "the signature is not in the signed element's document")
    references = list(signed_info.iterchildren(_ds("Reference")))
    if len(references) != 1:
        raise SignatureError("coverage", f"expected one ds:Reference, found {len(references)}")
    (reference,) = references
    expected_id = expected.get("Id")
    if not expected_id:
        raise SignatureError("coverage", f"{etree.QName(expected).localname} has no Id")
    if reference.get("URI") != f"#{expected_id}":
        raise SignatureError(
            "coverage",
            f"the reference {reference.get('URI')!r} is not to "
            f"{etree.QName(expected).localname} #{expected_id}",
        )
    holders = _elements_with_id(root, expected_id)
    if holders != [expected]:
        raise SignatureError(
            "coverage", f"Id {expected_id!r} is held by {len(holders)} elements, must be one"
        )
    return reference


def _check_algorithms(
    signed_info: etree._Element,
    reference: etree._Element,
    policy: SignaturePolicy,
    key_methods: frozenset[str],
) -> None:
    c14n = _algorithm(_one(signed_info, "CanonicalizationMethod"))
    if c14n not in _C14N_TRANSFORMS or c14n not in policy.transforms:
        raise SignatureError("algorithm", f"canonicalization {c14n!r} is not allowed")
    signature_method = _one(signed_info, "SignatureMethod")
    method = _algorithm(signature_method)
    if method not in policy.signature_methods or method not in key_methods:
        raise SignatureError("algorithm", f"signature method {method!r} is not allowed")
    if any(True for _ in signature_method.iterchildren(etree.Element)):
        # HMACOutputLength truncates the MAC (CVE-2009-0217); nothing else belongs here.
        raise SignatureError("algorithm", "ds:SignatureMethod parameters are not allowed")
    transforms = list(reference.iterchildren(_ds("Transforms")))
    if len(transforms) > 1:
        raise SignatureError("invalid", "more than one ds:Transforms")
    for transform in (t for group in transforms for t in group.iterchildren(etree.Element)):
        uri = _algorithm(transform)
        if transform.tag != _ds("Transform") or uri not in policy.transforms:
            raise SignatureError("algorithm", f"transform {uri!r} is not allowed")
        for parameter in transform.iterchildren(etree.Element):
            if parameter.tag != f"{{{EXC_C14N_NS}}}InclusiveNamespaces" or uri not in (
                EXC_C14N,
                _c.TransformExclC14NWithComments.href,
            ):
                raise SignatureError("algorithm", f"parameters of transform {uri!r}")
    digest = _algorithm(_one(reference, "DigestMethod"))
    if digest not in policy.digest_methods:
        raise SignatureError("algorithm", f"digest method {digest!r} is not allowed")


def _verify(
    signature: etree._Element,
    expected: etree._Element,
    key: xmlsec.Key,
    policy: SignaturePolicy,
) -> None:
    root = expected.getroottree().getroot()
    xmlsec.tree.add_ids(root, ["Id"])
    context = xmlsec.SignatureContext()
    context.key = key
    # The same lists again, inside xmlsec: nothing else may run even if a check above erred.
    for uri in policy.transforms & set(_C14N_TRANSFORMS):
        context.enable_signature_transform(_C14N_TRANSFORMS[uri])
    for uri in policy.signature_methods:
        context.enable_signature_transform(_SIGNATURE_TRANSFORMS[uri])
    for uri in policy.transforms:
        context.enable_reference_transform(_REFERENCE_TRANSFORMS[uri])
    for uri in policy.digest_methods:
        context.enable_reference_transform(_DIGEST_TRANSFORMS[uri])
    try:
        context.verify(signature)
    except xmlsec.Error as error:
        raise SignatureError("invalid", f"the signature does not verify ({error})") from error


def _checked_parts(
    signature: etree._Element,
    expected: etree._Element,
    policy: SignaturePolicy,
    key_methods: frozenset[str],
) -> None:
    if signature.tag != _ds("Signature"):
        raise SignatureError("coverage", f"{etree.QName(signature).text} is not a ds:Signature")
    signed_info = _one(signature, "SignedInfo")
    reference = _check_coverage(signature, signed_info, expected)
    _check_algorithms(signed_info, reference, policy, key_methods)


def verify_hmac_signature(
    signature: etree._Element, key: bytes, expected: etree._Element, policy: SignaturePolicy
) -> None:
    """Verify an HMAC `signature` over exactly `expected`; SignatureError saying why not."""
    _checked_parts(signature, expected, policy, HMAC_METHODS)
    if len(key) < _MIN_HMAC_KEY_BYTES:
        raise SignatureError("key", f"HMAC keys must be at least {_MIN_HMAC_KEY_BYTES} bytes")
    _verify(signature, expected, xmlsec.Key.from_binary_data(_c.KeyDataHmac, key), policy)


def verify_key_signature(
    signature: etree._Element,
    public_key: PublicKey,
    expected: etree._Element,
    policy: SignaturePolicy,
) -> None:
    """Verify an RSA or ECDSA `signature` over exactly `expected` with `public_key`."""
    key_methods = RSA_METHODS if isinstance(public_key, rsa.RSAPublicKey) else ECDSA_METHODS
    _checked_parts(signature, expected, policy, key_methods)
    bits = rsa_key_bits(public_key)
    if bits is not None and bits < policy.min_rsa_bits:
        raise SignatureError(
            "key", f"a {bits}-bit RSA key is smaller than the minimum {policy.min_rsa_bits}"
        )
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.key_size < _MIN_EC_BITS:
        raise SignatureError("key", f"a {public_key.key_size}-bit elliptic curve is too small")
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _verify(signature, expected, xmlsec.Key.from_memory(pem, _c.KeyDataFormatPem), policy)


@functools.lru_cache(maxsize=8)
def _signing_key(private_key: rsa.RSAPrivateKey) -> xmlsec.Key:
    """The xmlsec form of a service key, loaded once (loading costs a tenth of a signature)."""
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return xmlsec.Key.from_memory(pem, _c.KeyDataFormatPem)


def sign_enveloped(
    element: etree._Element,
    private_key: rsa.RSAPrivateKey,
    certificates: list[x509.Certificate],
) -> None:
    """Sign `element` by its Id with RSA-SHA256, inserting ds:Signature as its first child.

    Exclusive c14n, SHA-256 digest, enveloped-signature transform; KeyInfo carries the
    certificates in the order given, the signer's first. Sign the element in the document
    it is sent in: moving it into another lxml document afterwards can rewrite namespace
    prefixes and so break the signature.
    """
    element_id = element.get("Id")
    if not element_id:
        raise ValueError("the element to sign has no Id")
    root = element.getroottree().getroot()
    if _elements_with_id(root, element_id) != [element]:
        raise ValueError(f"Id {element_id!r} is not unique in the document")
    if certificates:
        signer = certificates[0].public_key()
        if not isinstance(signer, rsa.RSAPublicKey) or key_fingerprint(signer) != key_fingerprint(
            private_key.public_key()
        ):
            raise ValueError("the first certificate is not the signing key's")
    signature = xmlsec.template.create(
        element, _c.TransformExclC14N, _c.TransformRsaSha256, ns="ds"
    )
    element.insert(0, signature)
    reference = xmlsec.template.add_reference(signature, _c.TransformSha256, uri=f"#{element_id}")
    xmlsec.template.add_transform(reference, _c.TransformEnveloped)
    xmlsec.template.add_transform(reference, _c.TransformExclC14N)
    xmlsec.tree.add_ids(root, ["Id"])
    context = xmlsec.SignatureContext()
    context.key = _signing_key(private_key)
    context.sign(signature)
    if certificates:
        # Outside SignedInfo and removed by the enveloped transform: added after signing.
        key_info = etree.SubElement(signature, _ds("KeyInfo"))
        x509_data = etree.SubElement(key_info, _ds("X509Data"))
        for certificate in certificates:
            der = certificate.public_bytes(serialization.Encoding.DER)
            etree.SubElement(x509_data, _ds("X509Certificate")).text = base64.b64encode(
                der
            ).decode()
