"""Public keys in ds:KeyInfo: the samples' keys, generated keys and malformed input."""

from __future__ import annotations

import base64
import datetime
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from passport.xkms import keys
from passport.xkms.keys import KeyInfoError

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "xkms" / "samples"
DS = "http://www.w3.org/2000/09/xmldsig#"
XKMS = "http://www.w3.org/2002/03/xkms#"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# The Recommendation's certificates have negative serial numbers, which cryptography still
# loads but warns about.
negative_serial = pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive")

# The sample modulus, as the Recommendation prints it (1024 bits).
SAMPLE_MODULUS = (
    "0nIsmR+aVW2egl5MIfOKy4HuMKkk9AZ/IQuDLVPlhzOfgngjVQCjr8uvmnqtNu8"
    "HBupui8LgGthO6U9D0CNT5mbmhIAErRADUMIAFsi7LzBarUvNWTqYNEJmcHsAUZ"
    "drdcDrkNnG7SzbuJx+GDNiHKVDQggPBLc1XagW20RMvok="
)


def sample_key_info(name: str, binding: str) -> etree._Element:
    """The ds:KeyInfo of the key binding element `binding` in sample message `name`."""
    root = etree.parse(str(SAMPLES / name), PARSER).getroot()
    key_info = root.find(f"{{{XKMS}}}{binding}/{{{DS}}}KeyInfo")
    assert key_info is not None
    return key_info


def key_info_from(xml: str) -> etree._Element:
    """Parse a ds:KeyInfo written with the ds and dsig11 prefixes."""
    return etree.fromstring(
        f'<ds:KeyInfo xmlns:ds="{DS}" xmlns:dsig11="http://www.w3.org/2009/xmldsig11#">'
        f"{xml}</ds:KeyInfo>",
        PARSER,
    )


def rsa_key_value_xml(modulus: str, exponent: str | None = "AQAB") -> str:
    exponent_xml = "" if exponent is None else f"<ds:Exponent>{exponent}</ds:Exponent>"
    return (
        f"<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>{modulus}</ds:Modulus>"
        f"{exponent_xml}</ds:RSAKeyValue></ds:KeyValue>"
    )


def self_signed(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Alice Aardvark")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private_key, hashes.SHA256())
    )


def x509_data_xml(*certificates: x509.Certificate) -> str:
    body = "".join(
        "<ds:X509Certificate>\n"
        + base64.encodebytes(certificate.public_bytes(serialization.Encoding.DER)).decode()
        + "</ds:X509Certificate>"
        for certificate in certificates
    )
    return f"<ds:X509Data>{body}</ds:X509Data>"


@pytest.fixture(scope="module")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_sample_rsa_key_value_is_read_with_its_whitespace() -> None:
    public_key = keys.public_key_from_key_info(
        sample_key_info("registerRequest.xml", "PrototypeKeyBinding")
    )
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.public_numbers().e == 65537
    assert keys.rsa_key_bits(public_key) == 1024


@negative_serial
def test_sample_key_value_and_certificate_have_the_same_fingerprint() -> None:
    from_key_value = keys.public_key_from_key_info(
        sample_key_info("registerRequest.xml", "PrototypeKeyBinding")
    )
    from_certificate = keys.public_key_from_key_info(
        sample_key_info("revokeRequest.xml", "RevokeKeyBinding")
    )
    assert keys.key_fingerprint(from_key_value) == keys.key_fingerprint(from_certificate)


@negative_serial
def test_sample_result_certificates_come_in_document_order() -> None:
    certificates = keys.certificates_from_key_info(
        sample_key_info("registerResult.xml", "KeyBinding")
    )
    subjects = [certificate.subject.rfc4514_string() for certificate in certificates]
    assert subjects == ["CN=Alice Aardvark O=Alice Corp C=US", "CN=Test CA"]


@negative_serial
def test_sample_result_key_is_the_first_certificate() -> None:
    key_info = sample_key_info("registerResult.xml", "KeyBinding")
    public_key = keys.public_key_from_key_info(key_info)
    first = keys.certificates_from_key_info(key_info)[0].public_key()
    assert isinstance(first, rsa.RSAPublicKey)
    assert keys.key_fingerprint(public_key) == keys.key_fingerprint(first)


def test_sample_4096_bit_certificate_key() -> None:
    key_info = sample_key_info("registerRequestWithCertificate.xml", "PrototypeKeyBinding")
    assert keys.rsa_key_bits(keys.public_key_from_key_info(key_info)) == 4096


def test_key_value_without_certificates_has_no_certificates() -> None:
    key_info = sample_key_info("registerRequest.xml", "PrototypeKeyBinding")
    assert keys.certificates_from_key_info(key_info) == []


def test_fingerprint_is_sha256_of_the_subject_public_key_info(
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    public_key = rsa_private_key.public_key()
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert keys.key_fingerprint(public_key) == hashlib.sha256(der).hexdigest()


def test_generated_rsa_key_round_trips_through_key_value(
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    public_key = rsa_private_key.public_key()
    key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    key_info.append(keys.key_value_element(public_key))
    reparsed = etree.fromstring(etree.tostring(key_info), PARSER)
    read = keys.public_key_from_key_info(reparsed)
    assert keys.key_fingerprint(read) == keys.key_fingerprint(public_key)
    assert keys.rsa_key_bits(read) == 2048


def test_key_value_element_has_the_xmldsig_shape(rsa_private_key: rsa.RSAPrivateKey) -> None:
    element = keys.key_value_element(rsa_private_key.public_key())
    assert element.tag == f"{{{DS}}}KeyValue"
    assert [child.tag for child in element.iter()] == [
        f"{{{DS}}}KeyValue",
        f"{{{DS}}}RSAKeyValue",
        f"{{{DS}}}Modulus",
        f"{{{DS}}}Exponent",
    ]
    assert element.findtext(f".//{{{DS}}}Exponent") == "AQAB"
    assert element.prefix == "ds"


def test_generated_certificate_key(rsa_private_key: rsa.RSAPrivateKey) -> None:
    certificate = self_signed(rsa_private_key)
    key_info = key_info_from(x509_data_xml(certificate))
    assert keys.certificates_from_key_info(key_info) == [certificate]
    public_key = keys.public_key_from_key_info(key_info)
    assert keys.key_fingerprint(public_key) == keys.key_fingerprint(rsa_private_key.public_key())


def test_key_value_and_certificate_of_the_same_key_are_accepted(
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    key_value = etree.tostring(keys.key_value_element(rsa_private_key.public_key())).decode()
    key_info = key_info_from(key_value + x509_data_xml(self_signed(rsa_private_key)))
    public_key = keys.public_key_from_key_info(key_info)
    assert keys.key_fingerprint(public_key) == keys.key_fingerprint(rsa_private_key.public_key())


def test_key_value_and_certificate_of_different_keys_are_refused(
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_value = etree.tostring(keys.key_value_element(other.public_key())).decode()
    key_info = key_info_from(key_value + x509_data_xml(self_signed(rsa_private_key)))
    with pytest.raises(KeyInfoError, match="different public keys"):
        keys.public_key_from_key_info(key_info)


def test_ec_key_round_trips_through_key_value() -> None:
    public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    key_info.append(keys.key_value_element(public_key))
    read = keys.public_key_from_key_info(etree.fromstring(etree.tostring(key_info), PARSER))
    assert isinstance(read, ec.EllipticCurvePublicKey)
    assert keys.key_fingerprint(read) == keys.key_fingerprint(public_key)
    assert keys.rsa_key_bits(read) is None


def test_ec_certificate_key() -> None:
    private_key = ec.generate_private_key(ec.SECP384R1())
    key_info = key_info_from(x509_data_xml(self_signed(private_key)))
    read = keys.public_key_from_key_info(key_info)
    assert keys.key_fingerprint(read) == keys.key_fingerprint(private_key.public_key())


def test_ec_key_on_an_unsupported_curve_is_refused() -> None:
    key_info = key_info_from(
        '<ds:KeyValue><dsig11:ECKeyValue><dsig11:NamedCurve URI="urn:oid:1.3.132.0.10"/>'
        "<dsig11:PublicKey>BAAA</dsig11:PublicKey></dsig11:ECKeyValue></ds:KeyValue>"
    )
    with pytest.raises(KeyInfoError, match="unsupported elliptic curve"):
        keys.public_key_from_key_info(key_info)


def test_ec_key_off_the_curve_is_refused() -> None:
    key_info = key_info_from(
        '<ds:KeyValue><dsig11:ECKeyValue><dsig11:NamedCurve URI="urn:oid:1.2.840.10045.3.1.7"/>'
        "<dsig11:PublicKey>BAAA</dsig11:PublicKey></dsig11:ECKeyValue></ds:KeyValue>"
    )
    with pytest.raises(KeyInfoError, match="not a point"):
        keys.public_key_from_key_info(key_info)


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ("", "no ds:KeyValue or ds:X509Certificate"),
        ("<ds:KeyName>alice</ds:KeyName>", "no ds:KeyValue or ds:X509Certificate"),
        (rsa_key_value_xml("not*base64!"), "ds:Modulus is not valid base64"),
        (rsa_key_value_xml(SAMPLE_MODULUS[:-3]), "ds:Modulus is not valid base64"),
        (rsa_key_value_xml(SAMPLE_MODULUS, exponent=None), "ds:Exponent is missing"),
        (rsa_key_value_xml(SAMPLE_MODULUS, exponent=""), "ds:Exponent is empty"),
        (rsa_key_value_xml(SAMPLE_MODULUS, exponent="AA=="), "not a valid RSA public key"),
        (rsa_key_value_xml("AA=="), "not a valid RSA public key"),
        (rsa_key_value_xml("<ds:X>AQAB</ds:X>"), "only base64 text"),
        ("<ds:KeyValue/>", "exactly one key"),
        ("<ds:KeyValue><ds:Other/></ds:KeyValue>", "unsupported key value Other"),
        (
            "<ds:X509Data><ds:X509Certificate>AQAB</ds:X509Certificate></ds:X509Data>",
            "not a DER certificate",
        ),
        (
            "<ds:X509Data><ds:X509Certificate>@@</ds:X509Certificate></ds:X509Data>",
            "ds:X509Certificate is not valid base64",
        ),
    ],
)
def test_unusable_key_info_is_refused(xml: str, reason: str) -> None:
    with pytest.raises(KeyInfoError, match=reason):
        keys.public_key_from_key_info(key_info_from(xml))


def test_an_oversized_modulus_is_refused() -> None:
    modulus = base64.b64encode(b"\xff" * (keys.MAX_RSA_BITS // 8 + 1)).decode()
    with pytest.raises(KeyInfoError, match="longer than"):
        keys.public_key_from_key_info(key_info_from(rsa_key_value_xml(modulus)))


def test_dsa_key_value_is_refused() -> None:
    key_info = key_info_from(
        "<ds:KeyValue><ds:DSAKeyValue><ds:P>AQAB</ds:P><ds:Q>AQAB</ds:Q><ds:G>AQAB</ds:G>"
        "<ds:Y>AQAB</ds:Y></ds:DSAKeyValue></ds:KeyValue>"
    )
    with pytest.raises(KeyInfoError, match="DSA keys are not supported"):
        keys.public_key_from_key_info(key_info)


def test_dsa_certificate_is_refused() -> None:
    private_key = dsa.generate_private_key(key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsa")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private_key, hashes.SHA256())
    )
    with pytest.raises(KeyInfoError, match="unsupported DSAPublicKey"):
        keys.public_key_from_key_info(key_info_from(x509_data_xml(certificate)))


def test_an_element_other_than_key_info_is_refused() -> None:
    element = etree.fromstring(f'<KeyValue xmlns="{XKMS}"/>', PARSER)
    with pytest.raises(KeyInfoError, match="expected ds:KeyInfo"):
        keys.public_key_from_key_info(element)


def test_key_info_error_is_a_value_error() -> None:
    assert issubclass(KeyInfoError, ValueError)


def test_ec_certificate_on_an_unsupported_curve_is_refused() -> None:
    private_key = ec.generate_private_key(ec.SECP224R1())
    with pytest.raises(KeyInfoError, match="unsupported elliptic curve secp224r1"):
        keys.public_key_from_key_info(key_info_from(x509_data_xml(self_signed(private_key))))
