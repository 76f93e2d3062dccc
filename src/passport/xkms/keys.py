"""Public keys in ds:KeyInfo: read RSAKeyValue, ECKeyValue and X509Certificate, write KeyValue."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
DS11 = "http://www.w3.org/2009/xmldsig11#"

PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

# Past this a modulus is a denial-of-service attempt, not a key.
MAX_RSA_BITS = 16384

# dsig11 NamedCurve URIs (RFC 4051 urn:oid form) of the curves Passport accepts.
_CURVES_BY_URI: dict[str, ec.EllipticCurve] = {
    "urn:oid:1.2.840.10045.3.1.7": ec.SECP256R1(),
    "urn:oid:1.3.132.0.34": ec.SECP384R1(),
    "urn:oid:1.3.132.0.35": ec.SECP521R1(),
}
_URIS_BY_CURVE = {curve.name: uri for uri, curve in _CURVES_BY_URI.items()}

_DROP_XML_WHITESPACE = str.maketrans("", "", " \t\r\n")


class KeyInfoError(ValueError):
    """A ds:KeyInfo without a usable public key: missing, malformed or unsupported."""


def _ds(local: str) -> str:
    return f"{{{DS}}}{local}"


def _ds11(local: str) -> str:
    return f"{{{DS11}}}{local}"


def _base64(element: etree._Element, what: str) -> bytes:
    """Decode the base64 text of `element`, whitespace allowed, nothing else."""
    if len(element):
        raise KeyInfoError(f"{what} must contain only base64 text")
    text = (element.text or "").translate(_DROP_XML_WHITESPACE)
    if not text:
        raise KeyInfoError(f"{what} is empty")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise KeyInfoError(f"{what} is not valid base64") from error


def _only_child(parent: etree._Element, tag: str, what: str) -> etree._Element:
    children = list(parent.iterchildren(tag))
    if not children:
        raise KeyInfoError(f"{what} is missing")
    if len(children) > 1:
        raise KeyInfoError(f"{what} occurs more than once")
    return children[0]


def _rsa_key_value(element: etree._Element) -> rsa.RSAPublicKey:
    modulus_bytes = _base64(_only_child(element, _ds("Modulus"), "ds:Modulus"), "ds:Modulus")
    exponent_bytes = _base64(_only_child(element, _ds("Exponent"), "ds:Exponent"), "ds:Exponent")
    modulus = int.from_bytes(modulus_bytes, "big")
    exponent = int.from_bytes(exponent_bytes, "big")
    if modulus.bit_length() > MAX_RSA_BITS:
        raise KeyInfoError(f"RSA modulus longer than {MAX_RSA_BITS} bits")
    try:
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as error:
        raise KeyInfoError(f"ds:RSAKeyValue is not a valid RSA public key: {error}") from error


def _ec_key_value(element: etree._Element) -> ec.EllipticCurvePublicKey:
    named_curve = _only_child(element, _ds11("NamedCurve"), "dsig11:NamedCurve")
    uri = (named_curve.get("URI") or "").strip()
    curve = _CURVES_BY_URI.get(uri)
    if curve is None:
        raise KeyInfoError(f"unsupported elliptic curve {uri!r}")
    point = _base64(_only_child(element, _ds11("PublicKey"), "dsig11:PublicKey"), "PublicKey")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError as error:
        raise KeyInfoError(f"dsig11:ECKeyValue is not a point on {curve.name}") from error


def _key_from_key_value(key_value: etree._Element) -> PublicKey:
    children = [child for child in key_value if isinstance(child.tag, str)]
    if len(children) != 1:
        raise KeyInfoError("ds:KeyValue must hold exactly one key")
    (child,) = children
    if child.tag == _ds("RSAKeyValue"):
        return _rsa_key_value(child)
    if child.tag == _ds11("ECKeyValue"):
        return _ec_key_value(child)
    if child.tag == _ds("DSAKeyValue"):
        raise KeyInfoError("DSA keys are not supported")
    raise KeyInfoError(f"unsupported key value {etree.QName(child).localname}")


def _supported(public_key: object, source: str) -> PublicKey:
    if isinstance(public_key, rsa.RSAPublicKey):
        return public_key
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in _URIS_BY_CURVE:
            raise KeyInfoError(f"unsupported elliptic curve {public_key.curve.name}")
        return public_key
    raise KeyInfoError(f"{source} holds an unsupported {type(public_key).__name__}")


def certificates_from_key_info(key_info: etree._Element) -> list[x509.Certificate]:
    """Return the certificates of every ds:X509Data/ds:X509Certificate, in document order."""
    certificates = []
    for x509_data in key_info.iterchildren(_ds("X509Data")):
        for element in x509_data.iterchildren(_ds("X509Certificate")):
            der = _base64(element, "ds:X509Certificate")
            try:
                certificates.append(x509.load_der_x509_certificate(der))
            except ValueError as error:
                raise KeyInfoError("ds:X509Certificate is not a DER certificate") from error
    return certificates


def public_key_from_key_info(key_info: etree._Element) -> PublicKey:
    """Return the public key a ds:KeyInfo carries, in a KeyValue or its first certificate.

    When both are present they must hold the same key.
    """
    if key_info.tag != _ds("KeyInfo"):
        raise KeyInfoError(f"expected ds:KeyInfo, got {etree.QName(key_info).text}")
    found: list[PublicKey] = [
        _key_from_key_value(key_value) for key_value in key_info.iterchildren(_ds("KeyValue"))
    ]
    certificates = certificates_from_key_info(key_info)
    if certificates:
        found.append(_supported(certificates[0].public_key(), "ds:X509Certificate"))
    if not found:
        raise KeyInfoError("ds:KeyInfo carries no ds:KeyValue or ds:X509Certificate")
    if len({key_fingerprint(public_key) for public_key in found}) > 1:
        raise KeyInfoError("ds:KeyInfo carries different public keys")
    return found[0]


def _crypto_binary(value: int) -> str:
    """Base64 of the minimal big-endian bytes of `value` (XML Signature CryptoBinary)."""
    return base64.b64encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")).decode()


def key_value_element(public_key: PublicKey) -> etree._Element:
    """Build a ds:KeyValue holding `public_key` (ds:RSAKeyValue, or dsig11:ECKeyValue)."""
    key_value = etree.Element(_ds("KeyValue"), nsmap={"ds": DS})
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        rsa_key_value = etree.SubElement(key_value, _ds("RSAKeyValue"))
        etree.SubElement(rsa_key_value, _ds("Modulus")).text = _crypto_binary(numbers.n)
        etree.SubElement(rsa_key_value, _ds("Exponent")).text = _crypto_binary(numbers.e)
        return key_value
    uri = _URIS_BY_CURVE.get(public_key.curve.name)
    if uri is None:
        raise KeyInfoError(f"unsupported elliptic curve {public_key.curve.name}")
    ec_key_value = etree.SubElement(key_value, _ds11("ECKeyValue"), nsmap={"dsig11": DS11})
    etree.SubElement(ec_key_value, _ds11("NamedCurve"), URI=uri)
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    etree.SubElement(ec_key_value, _ds11("PublicKey")).text = base64.b64encode(point).decode()
    return key_value


def key_fingerprint(public_key: PublicKey) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo: one value per key, however it was sent."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def rsa_key_bits(public_key: PublicKey) -> int | None:
    """The modulus size of an RSA key; None for other keys."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return public_key.key_size
    return None
