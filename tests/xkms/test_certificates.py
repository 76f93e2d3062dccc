"""X.509 from Passport's CA: certificates on Register and Reissue, chains checked on
Validate, and the CRL listing revoked bindings."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Protocol

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree

from passport.config import Settings
from passport.identity.audit import Actor
from passport.services import Services
from passport.xkms import names
from passport.xkms.ca import CertificateAuthority, parse_distinguished_name
from passport.xkms.documents import xkms_schema
from passport.xkms.factory import xkms_service
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.service import XkmsService

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "xkms" / "samples"
ENDPOINT = "https://passport.test/xkms"
CLI = Actor("cli:test", "local")
PAIRS = [
    UseKeyWith("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"'),
    UseKeyWith("urn:ietf:rfc:2633", "alice@example.com"),
    UseKeyWith("http://ca.example.com/cps/20030401/class3", "alice@example.com"),
]


class MovableClock(Protocol):
    """The test clock (tests/conftest.py FakeClock)."""

    def advance(self, **delta: float) -> None: ...


@pytest.fixture
def service(xkms_settings: Settings, services: Services) -> XkmsService:
    settings = xkms_settings.model_copy(
        update={
            "xkms_min_rsa_bits": 1024,
            "xkms_legacy_sha1": True,
            "xkms_accepted_services": ["http://www.example.org/XKMS"],
        }
    )
    xkms = xkms_service(settings, services.database, services.clock, services.audit)
    alice = services.users.create("alice", "correct horse battery", CLI)
    xkms.passcodes.authorize(alice, PAIRS, CLI, passcode="024837", uses=2)
    return xkms


@pytest.fixture
def ca(xkms_settings: Settings) -> CertificateAuthority:
    return CertificateAuthority.load(xkms_settings.home)


def answer(service: XkmsService, request: etree._Element) -> etree._Element:
    result = service.result_for(etree.QName(request).localname, request, ENDPOINT, "192.0.2.8")
    assert xkms_schema().validate(result), xkms_schema().error_log.last_error
    return result


def sample(name: str) -> etree._Element:
    return etree.fromstring((SAMPLES / name).read_bytes())


def certificates_in(binding: etree._Element) -> list[x509.Certificate]:
    return [
        x509.load_der_x509_certificate(base64.b64decode(e.text or ""))
        for e in binding.iter(names.ds("X509Certificate"))
    ]


def validate_with(certificates: list[x509.Certificate], respond_with: str = "") -> etree._Element:
    data = "".join(
        f"<ds:X509Certificate>{base64.b64encode(c.public_bytes(Encoding.DER)).decode()}"
        "</ds:X509Certificate>"
        for c in certificates
    )
    respond = f"<RespondWith>{respond_with}</RespondWith>" if respond_with else ""
    return etree.fromstring(
        f"""<ValidateRequest xmlns="{names.XKMS}" xmlns:ds="{names.DS}" Id="v1"
            Service="{ENDPOINT}">{respond}
          <QueryKeyBinding><ds:KeyInfo><ds:X509Data>{data}</ds:X509Data></ds:KeyInfo>
          </QueryKeyBinding></ValidateRequest>""".encode()
    )


def test_register_asking_for_a_chain_gets_a_certificate_from_passports_ca(
    service: XkmsService, ca: CertificateAuthority
) -> None:
    result = answer(service, sample("registerRequest.xml"))

    binding = result.find(names.q("KeyBinding"))
    assert binding is not None
    leaf, issuer = certificates_in(binding)
    assert issuer == ca.certificate
    leaf.verify_directly_issued_by(ca.certificate)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Alice Aardvark"
    assert leaf.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "US"
    emails = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert emails.get_values_for_type(x509.RFC822Name) == ["alice@example.com"]
    interval = binding.find(names.q("ValidityInterval"))
    assert interval is not None
    assert leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ") == interval.get("NotOnOrAfter")


def test_validate_trusts_only_chains_from_passports_ca(service: XkmsService) -> None:
    registered = answer(service, sample("registerRequest.xml"))
    binding = registered.find(names.q("KeyBinding"))
    assert binding is not None
    ours = certificates_in(binding)

    trusted = answer(service, validate_with(ours[:1]))
    status = trusted.find(f"{names.q('KeyBinding')}/{names.q('Status')}")
    assert status is not None
    assert status.get("StatusValue") == names.VALID

    foreign_request = sample("revokeRequest.xml")
    foreign = certificates_in(foreign_request)  # the same key, certified by "Test CA"
    refused = answer(service, validate_with(foreign))
    status = refused.find(f"{names.q('KeyBinding')}/{names.q('Status')}")
    assert status is not None
    assert status.get("StatusValue") == names.INVALID
    assert [e.text for e in status.findall(names.q("InvalidReason"))] == [names.ISSUER_TRUST]


def test_the_crl_lists_the_certificates_of_revoked_bindings(
    service: XkmsService, ca: CertificateAuthority
) -> None:
    registered = answer(service, sample("registerRequest.xml"))
    binding = registered.find(names.q("KeyBinding"))
    assert binding is not None
    leaf = certificates_in(binding)[0]
    assert answer(service, sample("revokeRequest.xml")).get("ResultMajor") == names.SUCCESS

    result = answer(service, validate_with([leaf], names.RESPOND_X509_CRL))

    crl_element = result.find(f".//{names.ds('X509CRL')}")
    assert crl_element is not None
    crl = x509.load_der_x509_crl(base64.b64decode(crl_element.text or ""))
    assert crl.is_signature_valid(ca.private_key.public_key())
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None


def test_reissue_asking_for_a_certificate_gets_one_for_the_new_validity(
    service: XkmsService, clock: MovableClock
) -> None:
    first = answer(service, sample("registerRequest.xml")).find(names.q("KeyBinding"))
    assert first is not None
    clock.advance(days=10)

    result = answer(service, sample("reissueRequest.xml"))

    binding = result.find(names.q("KeyBinding"))
    assert binding is not None
    (renewed, _ca_certificate) = certificates_in(binding)
    assert renewed.serial_number != certificates_in(first)[0].serial_number
    assert renewed.not_valid_before_utc > certificates_in(first)[0].not_valid_before_utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('C="US" O="Alice Corp" CN="Alice Aardvark"', "CN=Alice Aardvark,O=Alice Corp,C=US"),
        ("CN=Bob,OU=Staff,O=Example,C=DE", "CN=Bob,OU=Staff,O=Example,C=DE"),
        ("not a name", None),
        ("XX=unknown", None),
    ],
)
def test_distinguished_names_in_both_written_forms(text: str, expected: str | None) -> None:
    name = parse_distinguished_name(text)
    assert (name.rfc4514_string() if name else None) == expected
