"""Rotating the CA and the service key: the newest signs, older ones count until retired."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from passport.cli.main import main
from passport.config import Settings
from passport.identity.audit import Actor
from passport.services import Services
from passport.xkms import keyring, names
from passport.xkms.factory import xkms_service
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.service import XkmsService
from passport.xkms.service_keys import service_key_paths

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "xkms" / "samples"
ENDPOINT = "https://passport.test/xkms"
CLI = Actor("cli:test", "local")
PAIRS = [
    UseKeyWith("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"'),
    UseKeyWith("urn:ietf:rfc:2633", "alice@example.com"),
    UseKeyWith("http://ca.example.com/cps/20030401/class3", "alice@example.com"),
]


@pytest.fixture
def sample_settings(xkms_settings: Settings) -> Settings:
    return xkms_settings.model_copy(
        update={
            "xkms_min_rsa_bits": 1024,
            "xkms_legacy_sha1": True,
            "xkms_accepted_services": ["http://www.example.org/XKMS"],
        }
    )


def service_for(settings: Settings, services: Services) -> XkmsService:
    """A fresh service, as a restarted worker loads the keys."""
    return xkms_service(settings, services.database, services.clock, services.audit)


def answer(service: XkmsService, request: etree._Element) -> etree._Element:
    return service.result_for(etree.QName(request).localname, request, ENDPOINT, "192.0.2.9")


def registered_certificate(service: XkmsService, services: Services) -> x509.Certificate:
    alice = services.users.create("alice", "correct horse battery", CLI)
    service.passcodes.authorize(alice, PAIRS, CLI, passcode="024837")
    result = answer(service, etree.fromstring((SAMPLES / "registerRequest.xml").read_bytes()))
    element = result.find(f".//{names.ds('X509Certificate')}")
    assert element is not None
    return x509.load_der_x509_certificate(base64.b64decode(element.text or ""))


def validate(
    service: XkmsService, certificate: x509.Certificate, crl: bool = False
) -> etree._Element:
    der = base64.b64encode(certificate.public_bytes(Encoding.DER)).decode()
    respond = f"<RespondWith>{names.RESPOND_X509_CRL}</RespondWith>" if crl else ""
    request = etree.fromstring(
        f"""<ValidateRequest xmlns="{names.XKMS}" xmlns:ds="{names.DS}" Id="v1"
            Service="{ENDPOINT}">{respond}<QueryKeyBinding><ds:KeyInfo><ds:X509Data>
          <ds:X509Certificate>{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
          </QueryKeyBinding></ValidateRequest>""".encode()
    )
    return answer(service, request)


def status_of(result: etree._Element) -> tuple[str | None, list[str | None]]:
    status = result.find(f"{names.q('KeyBinding')}/{names.q('Status')}")
    assert status is not None
    return status.get("StatusValue"), [e.text for e in status.findall(names.q("InvalidReason"))]


def test_a_rotated_ca_still_vouches_for_its_certificates_until_retired(
    sample_settings: Settings, services: Services
) -> None:
    certificate = registered_certificate(service_for(sample_settings, services), services)
    old, new = keyring.rotate(sample_settings.home, "ca")
    assert old != new

    assert status_of(validate(service_for(sample_settings, services), certificate)) == (
        names.VALID,
        [],
    )

    assert keyring.retire(sample_settings.home, old) == "ca"
    assert status_of(validate(service_for(sample_settings, services), certificate)) == (
        names.INVALID,
        [names.ISSUER_TRUST],
    )


def test_each_trusted_ca_signs_a_crl_of_the_certificates_it_issued(
    sample_settings: Settings, services: Services
) -> None:
    service = service_for(sample_settings, services)
    certificate = registered_certificate(service, services)
    assert (
        answer(service, etree.fromstring((SAMPLES / "revokeRequest.xml").read_bytes())).get(
            "ResultMajor"
        )
        == names.SUCCESS
    )
    keyring.rotate(sample_settings.home, "ca")

    result = validate(service_for(sample_settings, services), certificate, crl=True)

    crls = [
        x509.load_der_x509_crl(base64.b64decode(e.text or ""))
        for e in result.iter(names.ds("X509CRL"))
    ]
    assert len(crls) == 2
    listing = [
        crl
        for crl in crls
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    ]
    assert len(listing) == 1
    assert listing[0].is_signature_valid(
        next(c.public_key() for c in _previous_ca_certificates(sample_settings.home))
    )


def _previous_ca_certificates(home: Path) -> list[x509.Certificate]:
    return [
        x509.load_pem_x509_certificate(path.read_bytes())
        for path in keyring.previous_folder(home).glob("ca-*-cert.pem")
    ]


def test_after_a_service_key_rotation_the_new_key_signs_and_both_are_published(
    sample_settings: Settings, services: Services
) -> None:
    old_certificate = service_key_paths(sample_settings.home)[1].read_bytes()
    keyring.rotate(sample_settings.home, "service")
    service = service_for(sample_settings, services)
    new_certificate = service_key_paths(sample_settings.home)[1].read_bytes()

    published = service.wsdl(ENDPOINT, "certificates")

    assert published is not None
    bundle, content_type = published
    assert content_type == "application/pem-certificate-chain"
    assert old_certificate in bundle
    assert new_certificate in bundle
    assert service.service_key.certificates[0] == x509.load_pem_x509_certificate(new_certificate)


def test_the_keys_commands_rotate_list_and_retire(
    sample_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_HOME", str(sample_settings.home))
    runner = CliRunner()

    rotated = runner.invoke(main, ["keys", "rotate", "--service"])
    assert rotated.exit_code == 0, rotated.output
    old = rotated.output.split("key: ", 1)[1].split(" ", 1)[0]
    listed = runner.invoke(main, ["keys", "list"])
    assert f"{old}" in listed.output
    assert "previous (still trusted)" in listed.output

    retired = runner.invoke(main, ["keys", "retire", old])
    assert retired.exit_code == 0, retired.output
    again = runner.invoke(main, ["keys", "retire", old])
    assert again.exit_code != 0
    assert "no previous key" in again.output
    assert "Traceback" not in again.output


def test_a_rotated_service_key_has_the_configured_size(
    sample_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_HOME", str(sample_settings.home))
    monkeypatch.setenv("PASSPORT_XKMS_SERVICE_KEY_BITS", "2048")
    key_path, _ = service_key_paths(sample_settings.home)

    def bits() -> int:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.key_size

    assert bits() == 3072  # made with the default
    rotated = CliRunner().invoke(main, ["keys", "rotate", "--service"])
    assert rotated.exit_code == 0, rotated.output
    assert bits() == 2048


def test_a_rotation_to_a_size_not_offered_moves_nothing(sample_settings: Settings) -> None:
    key_path, cert_path = service_key_paths(sample_settings.home)
    before = key_path.read_bytes(), cert_path.read_bytes()

    with pytest.raises(ValueError, match="not 1024"):
        keyring.rotate(sample_settings.home, "service", service_key_bits=1024)

    assert (key_path.read_bytes(), cert_path.read_bytes()) == before
    assert [entry.current for entry in keyring.entries(sample_settings.home)].count(False) == 0
