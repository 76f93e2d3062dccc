"""XML signatures: the samples verify, policies refuse, wrapping fails, our signatures verify."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import pytest
import signxml
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from passport.xkms import keys, secrets
from passport.xkms.xmldsig import (
    SignatureError,
    SignaturePolicy,
    sign_enveloped,
    verify_hmac_signature,
    verify_key_signature,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "xkms" / "samples"
DS = "http://www.w3.org/2000/09/xmldsig#"
XKMS = "http://www.w3.org/2002/03/xkms#"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
PASSCODE = "024837"
# The sample certificates have negative serial numbers; cryptography loads them with a warning.
negative_serial = pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive")

HMAC_POLICY = SignaturePolicy.key_binding_authentication()
# What the Recommendation's ProofOfPossession needs: RSA-SHA1 over SHA-1, a 1024-bit key.
LEGACY_POLICY = SignaturePolicy.default(legacy_sha1=True, min_rsa_bits=1024)


def ds(local: str) -> str:
    return f"{{{DS}}}{local}"


def xkms(local: str) -> str:
    return f"{{{XKMS}}}{local}"


def sample(name: str) -> etree._Element:
    return etree.parse(str(SAMPLES / name), PARSER).getroot()


def find(root: etree._Element, path: str) -> etree._Element:
    element = root.find(path, {"x": XKMS, "ds": DS})
    assert element is not None, path
    return element


class Register:
    """The parts of samples/registerRequest.xml that the signatures are about."""

    def __init__(self) -> None:
        self.root = sample("registerRequest.xml")
        self.binding = find(self.root, "x:PrototypeKeyBinding")
        self.authentication = find(
            self.root, "x:Authentication/x:KeyBindingAuthentication/ds:Signature"
        )
        self.proof = find(self.root, "x:ProofOfPossession/ds:Signature")
        self.public_key = keys.public_key_from_key_info(find(self.binding, "ds:KeyInfo"))

    def verify_authentication(self, policy: SignaturePolicy = HMAC_POLICY) -> None:
        verify_hmac_signature(
            self.authentication, secrets.authentication_key(PASSCODE), self.binding, policy
        )

    def verify_proof(self, policy: SignaturePolicy = LEGACY_POLICY) -> None:
        verify_key_signature(self.proof, self.public_key, self.binding, policy)


@pytest.fixture
def register() -> Register:
    return Register()


def certificate_for(
    private_key: rsa.RSAPrivateKey, name: str = "Passport XKMS"
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def service_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def service_certificate(service_key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certificate_for(service_key)


def sign_detached(
    parent: etree._Element,
    uris: list[str],
    key: xmlsec.Key,
    method: xmlsec.Transform = xmlsec.constants.TransformHmacSha256,
) -> etree._Element:
    """Append to `parent` a signature with one exc-c14n, SHA-256 Reference per URI."""
    signature = xmlsec.template.create(parent, xmlsec.constants.TransformExclC14N, method, ns="ds")
    parent.append(signature)
    for uri in uris:
        reference = xmlsec.template.add_reference(
            signature, xmlsec.constants.TransformSha256, uri=uri
        )
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    xmlsec.tree.add_ids(parent.getroottree().getroot(), ["Id"])
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(signature)
    return signature


def hmac_key(passcode: str = PASSCODE) -> xmlsec.Key:
    return xmlsec.Key.from_binary_data(
        xmlsec.constants.KeyDataHmac, secrets.authentication_key(passcode)
    )


def expect_refusal(kind: str, verify: object, *arguments: object) -> SignatureError:
    assert callable(verify)
    with pytest.raises(SignatureError) as caught:
        verify(*arguments)
    assert caught.value.kind == kind, caught.value.reason
    return caught.value


# The Recommendation's samples ---------------------------------------------------------


def test_sample_key_binding_authentication_verifies(register: Register) -> None:
    register.verify_authentication()


def test_sample_proof_of_possession_verifies_under_a_legacy_policy(register: Register) -> None:
    register.verify_proof()


def test_sample_proof_of_possession_is_refused_by_the_default_policy(register: Register) -> None:
    expect_refusal("algorithm", register.verify_proof, SignaturePolicy.default())


def test_sample_proof_of_possession_key_is_too_small_for_the_default_size(
    register: Register,
) -> None:
    error = expect_refusal("key", register.verify_proof, SignaturePolicy.default(legacy_sha1=True))
    assert "1024-bit" in error.reason


def test_sample_authentication_is_refused_without_sha1_digests(register: Register) -> None:
    strict = SignaturePolicy(signature_methods=HMAC_POLICY.signature_methods)
    error = expect_refusal("algorithm", register.verify_authentication, strict)
    assert "digest" in error.reason


def test_sample_authentication_is_refused_by_the_rsa_default_policy(register: Register) -> None:
    expect_refusal("algorithm", register.verify_authentication, SignaturePolicy.default())


def test_sample_authentication_with_a_wrong_passcode_is_invalid(register: Register) -> None:
    expect_refusal(
        "invalid",
        verify_hmac_signature,
        register.authentication,
        secrets.authentication_key("024838"),
        register.binding,
        HMAC_POLICY,
    )


def test_sample_signatures_fail_when_the_binding_is_tampered(register: Register) -> None:
    find(register.binding, "x:UseKeyWith").set("Identifier", "mallory@example.com")
    expect_refusal("invalid", register.verify_authentication)
    expect_refusal("invalid", register.verify_proof)


@negative_serial
def test_sample_reissue_signatures_with_inclusive_namespaces_verify() -> None:
    root = sample("reissueRequest.xml")
    binding = find(root, "x:ReissueKeyBinding")
    authentication = find(root, "x:Authentication/x:KeyBindingAuthentication/ds:Signature")
    verify_hmac_signature(
        authentication, secrets.authentication_key(PASSCODE), binding, HMAC_POLICY
    )
    public_key = keys.public_key_from_key_info(find(binding, "ds:KeyInfo"))
    proof = find(root, "x:ProofOfPossession/ds:Signature")
    verify_key_signature(proof, public_key, binding, LEGACY_POLICY)


def test_signatures_inside_a_soap_envelope_verify() -> None:
    # Wrapped as text and parsed whole, as a request arrives: moving a parsed element into
    # another lxml document may rewrite its namespace prefixes and so break its signatures.
    request = (SAMPLES / "registerRequest.xml").read_bytes().split(b"?>", 1)[1]
    envelope = etree.fromstring(
        f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body>'.encode()
        + request
        + b"</soap:Body></soap:Envelope>",
        PARSER,
    )
    binding = find(envelope, ".//x:PrototypeKeyBinding")
    authentication = find(envelope, ".//x:KeyBindingAuthentication/ds:Signature")
    verify_hmac_signature(
        authentication, secrets.authentication_key(PASSCODE), binding, HMAC_POLICY
    )
    public_key = keys.public_key_from_key_info(find(binding, "ds:KeyInfo"))
    proof = find(envelope, ".//x:ProofOfPossession/ds:Signature")
    verify_key_signature(proof, public_key, binding, LEGACY_POLICY)


# Coverage: wrapping and misdirected references ----------------------------------------


def test_a_duplicated_binding_with_changed_content_is_a_wrapping_attempt(
    register: Register,
) -> None:
    forged = copy.deepcopy(register.binding)
    find(forged, "x:UseKeyWith").set("Identifier", "mallory@example.com")
    register.root.insert(register.root.index(register.binding), forged)
    for expected in (register.binding, forged):
        error = expect_refusal(
            "coverage",
            verify_hmac_signature,
            register.authentication,
            secrets.authentication_key(PASSCODE),
            expected,
            HMAC_POLICY,
        )
        assert "2 elements" in error.reason
    expect_refusal(
        "coverage", verify_key_signature, register.proof, register.public_key, forged, LEGACY_POLICY
    )


def test_moving_the_signed_binding_and_forging_one_in_its_place_is_refused(
    register: Register,
) -> None:
    hidden = etree.SubElement(register.root, xkms("MessageExtension"))
    forged = copy.deepcopy(register.binding)
    find(forged, "x:UseKeyWith").set("Identifier", "mallory@example.com")
    register.root.replace(register.binding, forged)
    hidden.append(register.binding)
    expect_refusal(
        "coverage",
        verify_hmac_signature,
        register.authentication,
        secrets.authentication_key(PASSCODE),
        forged,
        HMAC_POLICY,
    )


@pytest.mark.parametrize(
    "attribute", ["ID", "id", "{http://www.w3.org/XML/1998/namespace}id", "{urn:other}Id"]
)
def test_another_id_like_attribute_with_the_same_value_is_refused(
    register: Register, attribute: str
) -> None:
    decoy = etree.SubElement(register.root, xkms("MessageExtension"))
    decoy.set(attribute, register.binding.get("Id", ""))
    expect_refusal("coverage", register.verify_authentication)


def test_a_reference_to_another_element_is_refused(register: Register) -> None:
    other = find(register.root, "x:RespondWith")
    other.set("Id", "Iother")
    signature = sign_detached(register.root, ["#Iother"], hmac_key())
    verify_hmac_signature(signature, secrets.authentication_key(PASSCODE), other, HMAC_POLICY)
    error = expect_refusal(
        "coverage",
        verify_hmac_signature,
        signature,
        secrets.authentication_key(PASSCODE),
        register.binding,
        HMAC_POLICY,
    )
    assert "#Iother" in error.reason


def test_a_whole_document_reference_is_refused(register: Register) -> None:
    signature = sign_detached(register.root, [""], hmac_key())
    expect_refusal(
        "coverage",
        verify_hmac_signature,
        signature,
        secrets.authentication_key(PASSCODE),
        register.binding,
        HMAC_POLICY,
    )


def test_a_signature_with_two_references_is_refused(register: Register) -> None:
    other = find(register.root, "x:RespondWith")
    other.set("Id", "Iother")
    binding_uri = "#" + register.binding.get("Id", "")
    signature = sign_detached(register.root, [binding_uri, "#Iother"], hmac_key())
    error = expect_refusal(
        "coverage",
        verify_hmac_signature,
        signature,
        secrets.authentication_key(PASSCODE),
        register.binding,
        HMAC_POLICY,
    )
    assert "found 2" in error.reason


def test_an_element_without_id_cannot_be_covered(register: Register) -> None:
    del register.binding.attrib["Id"]
    expect_refusal("coverage", register.verify_authentication)


def test_a_signature_from_another_document_is_refused(register: Register) -> None:
    other = Register()
    expect_refusal(
        "coverage",
        verify_hmac_signature,
        other.authentication,
        secrets.authentication_key(PASSCODE),
        register.binding,
        HMAC_POLICY,
    )


def test_an_element_that_is_not_a_signature_is_refused(register: Register) -> None:
    expect_refusal(
        "coverage",
        verify_hmac_signature,
        register.binding,
        secrets.authentication_key(PASSCODE),
        register.binding,
        HMAC_POLICY,
    )


# Algorithms and keys ------------------------------------------------------------------


def test_a_transform_outside_the_allowed_list_is_refused(register: Register) -> None:
    transforms = find(register.authentication, "ds:SignedInfo/ds:Reference/ds:Transforms")
    xpath = etree.SubElement(transforms, ds("Transform"))
    xpath.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    etree.SubElement(xpath, ds("XPath")).text = "true()"
    error = expect_refusal("algorithm", register.verify_authentication)
    assert "REC-xpath" in error.reason


def test_comments_among_the_transforms_are_not_transforms(register: Register) -> None:
    transforms = find(register.authentication, "ds:SignedInfo/ds:Reference/ds:Transforms")
    transforms.insert(0, etree.Comment("exclusive canonicalization"))
    # Exclusive c14n drops the comment from SignedInfo, so the signature still holds.
    register.verify_authentication()


def test_a_second_transforms_element_is_refused(register: Register) -> None:
    reference = find(register.authentication, "ds:SignedInfo/ds:Reference")
    reference.insert(1, copy.deepcopy(find(reference, "ds:Transforms")))
    error = expect_refusal("invalid", register.verify_authentication)
    assert "ds:Transforms" in error.reason


def test_a_truncated_hmac_is_refused(register: Register) -> None:
    method = find(register.authentication, "ds:SignedInfo/ds:SignatureMethod")
    etree.SubElement(method, ds("HMACOutputLength")).text = "80"
    expect_refusal("algorithm", register.verify_authentication)


def test_an_hmac_signature_is_refused_as_a_key_signature(register: Register) -> None:
    expect_refusal(
        "algorithm",
        verify_key_signature,
        register.authentication,
        register.public_key,
        register.binding,
        SignaturePolicy(
            signature_methods=HMAC_POLICY.signature_methods | LEGACY_POLICY.signature_methods,
            digest_methods=LEGACY_POLICY.digest_methods,
            min_rsa_bits=1024,
        ),
    )


def test_an_rsa_signature_is_refused_as_an_hmac_signature(register: Register) -> None:
    expect_refusal(
        "algorithm",
        verify_hmac_signature,
        register.proof,
        secrets.authentication_key(PASSCODE),
        register.binding,
        LEGACY_POLICY,
    )


def test_a_short_hmac_key_is_refused(register: Register) -> None:
    expect_refusal(
        "key",
        verify_hmac_signature,
        register.authentication,
        b"short",
        register.binding,
        HMAC_POLICY,
    )


def test_an_ecdsa_signature_verifies_with_its_key(register: Register) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)
    uri = "#" + register.binding.get("Id", "")
    signature = sign_detached(register.root, [uri], key, xmlsec.constants.TransformEcdsaSha256)
    policy = SignaturePolicy.default()
    verify_key_signature(signature, private_key.public_key(), register.binding, policy)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    expect_refusal("invalid", verify_key_signature, signature, other, register.binding, policy)


def test_an_ecdsa_key_on_a_small_curve_is_refused(register: Register) -> None:
    private_key = ec.generate_private_key(ec.SECP224R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)
    uri = "#" + register.binding.get("Id", "")
    signature = sign_detached(register.root, [uri], key, xmlsec.constants.TransformEcdsaSha256)
    expect_refusal(
        "key",
        verify_key_signature,
        signature,
        private_key.public_key(),
        register.binding,
        SignaturePolicy.default(),
    )


def test_policy_refuses_unknown_algorithms() -> None:
    with pytest.raises(ValueError, match="unsupported signature method"):
        SignaturePolicy(signature_methods=frozenset({"http://example.com/rot13"}))
    with pytest.raises(ValueError, match="unsupported transform"):
        SignaturePolicy(transforms=frozenset({"http://www.w3.org/TR/1999/REC-xslt-19991116"}))


def test_default_policy_needs_sha256_and_2048_bits() -> None:
    policy = SignaturePolicy.default()
    assert policy.min_rsa_bits == 2048
    assert "http://www.w3.org/2000/09/xmldsig#rsa-sha1" not in policy.signature_methods
    assert "http://www.w3.org/2000/09/xmldsig#sha1" not in policy.digest_methods
    assert "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" in policy.signature_methods


# sign_enveloped -----------------------------------------------------------------------


def result_document() -> etree._Element:
    """A LocateResult inside a SOAP 1.2 envelope, as the service answers."""
    envelope = etree.fromstring(
        f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body>'
        f'<LocateResult xmlns="{XKMS}" xmlns:ds="{DS}" Id="Iresult" '
        'Service="http://www.example.org/XKMS" RequestId="Irequest" '
        'ResultMajor="http://www.w3.org/2002/03/xkms#Success">'
        '<UnverifiedKeyBinding Id="Ibinding"><ds:KeyInfo><ds:KeyName>alice</ds:KeyName>'
        "</ds:KeyInfo></UnverifiedKeyBinding></LocateResult></soap:Body></soap:Envelope>",
        PARSER,
    )
    return find(envelope, ".//x:LocateResult")


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_signed_result_has_the_signature_first_with_the_certificates(
    service_key: rsa.RSAPrivateKey, service_certificate: x509.Certificate
) -> None:
    result = result_document()
    issuer = certificate_for(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    sign_enveloped(result, service_key, [service_certificate, issuer])
    assert result[0].tag == ds("Signature")
    assert find(result[0], "ds:SignedInfo/ds:Reference").get("URI") == "#Iresult"
    assert keys.certificates_from_key_info(find(result[0], "ds:KeyInfo")) == [
        service_certificate,
        issuer,
    ]


def test_signed_result_verifies_with_signxml(
    service_key: rsa.RSAPrivateKey, service_certificate: x509.Certificate
) -> None:
    result = result_document()
    sign_enveloped(result, service_key, [service_certificate])
    data = etree.tostring(result.getroottree())
    verified = signxml.XMLVerifier().verify(
        data, x509_cert=certificate_pem(service_certificate), expect_references=1
    )
    assert isinstance(verified, signxml.VerifyResult)
    signed = verified.signed_xml
    assert signed is not None
    assert signed.get("Id") == "Iresult"


def test_signed_result_verifies_with_verify_key_signature(
    service_key: rsa.RSAPrivateKey, service_certificate: x509.Certificate
) -> None:
    result = result_document()
    sign_enveloped(result, service_key, [service_certificate])
    reparsed = etree.fromstring(etree.tostring(result.getroottree()), PARSER)
    signed = find(reparsed, ".//x:LocateResult")
    verify_key_signature(signed[0], service_key.public_key(), signed, SignaturePolicy.default())


def test_tampered_signed_result_fails_both_verifiers(
    service_key: rsa.RSAPrivateKey, service_certificate: x509.Certificate
) -> None:
    result = result_document()
    sign_enveloped(result, service_key, [service_certificate])
    find(result, ".//ds:KeyName").text = "mallory"
    data = etree.tostring(result.getroottree())
    with pytest.raises(signxml.exceptions.InvalidSignature):
        signxml.XMLVerifier().verify(
            data, x509_cert=certificate_pem(service_certificate), expect_references=1
        )
    reparsed = etree.fromstring(data, PARSER)
    signed = find(reparsed, ".//x:LocateResult")
    expect_refusal(
        "invalid",
        verify_key_signature,
        signed[0],
        service_key.public_key(),
        signed,
        SignaturePolicy.default(),
    )


def test_a_signature_is_checked_with_the_callers_key_not_its_key_info(
    service_key: rsa.RSAPrivateKey, service_certificate: x509.Certificate
) -> None:
    result = result_document()
    mallory = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sign_enveloped(result, mallory, [certificate_for(mallory, "Passport XKMS")])
    expect_refusal(
        "invalid",
        verify_key_signature,
        result[0],
        service_key.public_key(),
        result,
        SignaturePolicy.default(),
    )


def test_sign_enveloped_refuses_an_element_without_id(service_key: rsa.RSAPrivateKey) -> None:
    result = result_document()
    del result.attrib["Id"]
    with pytest.raises(ValueError, match="no Id"):
        sign_enveloped(result, service_key, [])


def test_sign_enveloped_refuses_a_duplicated_id(service_key: rsa.RSAPrivateKey) -> None:
    result = result_document()
    find(result, "x:UnverifiedKeyBinding").set("Id", "Iresult")
    with pytest.raises(ValueError, match="not unique"):
        sign_enveloped(result, service_key, [])


def test_sign_enveloped_refuses_a_certificate_of_another_key(
    service_certificate: x509.Certificate,
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="first certificate"):
        sign_enveloped(result_document(), other, [service_certificate])


def test_sign_enveloped_without_certificates_has_no_key_info(
    service_key: rsa.RSAPrivateKey,
) -> None:
    result = result_document()
    sign_enveloped(result, service_key, [])
    assert result[0].find(ds("KeyInfo")) is None
    verify_key_signature(result[0], service_key.public_key(), result, SignaturePolicy.default())
