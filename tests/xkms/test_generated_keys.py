"""Server-generated keys: Register returns the private key encrypted for the passcode holder,
Recover hands the escrowed key back and revokes the binding."""

from __future__ import annotations

import base64
import threading

import pytest
import xmlsec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from sqlalchemy import select

from passport.config import Settings
from passport.identity.audit import Actor
from passport.identity.users import User
from passport.services import Services
from passport.storage.tables import xkms_key_binding
from passport.xkms import names
from passport.xkms.bindings import BindingStore, NewBinding
from passport.xkms.documents import xkms_schema
from passport.xkms.factory import xkms_service
from passport.xkms.keys import key_fingerprint, key_value_element, public_key_from_key_info
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.private_keys import decrypt_private_key_element
from passport.xkms.secrets import authentication_key, private_key_cipher_key
from passport.xkms.service import XkmsService

ENDPOINT = "https://passport.test/xkms"
PAIR = UseKeyWith("urn:ietf:rfc:2633", "carol@example.com")
CLI = Actor("cli:test", "local")
PASSCODE = "hunter2-carol-passcode"


def signed_request(
    kind: str, binding: str, passcode: str, body: str = "", key: str = ""
) -> etree._Element:
    """A request whose KeyBindingAuthentication (HMAC-SHA1, as clients send) covers its
    key binding element, named `binding`."""
    request = etree.fromstring(
        f"""<{kind} xmlns="{names.XKMS}" xmlns:ds="{names.DS}" Id="R{binding}" Service="{ENDPOINT}">
          {body}
          <{binding} Id="B{binding}">{key}
            <UseKeyWith Application="{PAIR.application}" Identifier="{PAIR.identifier}"/>
          </{binding}>
          <Authentication><KeyBindingAuthentication/></Authentication>
        </{kind}>""".encode()
    )
    signature = xmlsec.template.create(
        request, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformHmacSha1
    )
    reference = xmlsec.template.add_reference(
        signature, xmlsec.constants.TransformSha1, uri=f"#B{binding}"
    )
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    holder = request.find(f"{names.q('Authentication')}/{names.q('KeyBindingAuthentication')}")
    assert holder is not None
    holder.append(signature)
    xmlsec.tree.add_ids(request, ["Id"])
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_binary_data(
        xmlsec.constants.KeyDataHmac, authentication_key(passcode)
    )
    context.sign(signature)
    return request


def answer(service: XkmsService, request: etree._Element) -> etree._Element:
    result = service.result_for(etree.QName(request).localname, request, ENDPOINT, "192.0.2.4")
    assert xkms_schema().validate(result), xkms_schema().error_log.last_error
    return result


def register_generated(service: XkmsService) -> etree._Element:
    respond = f"<RespondWith>{names.RESPOND_PRIVATE_KEY}</RespondWith>"
    return answer(
        service, signed_request("RegisterRequest", "PrototypeKeyBinding", PASSCODE, respond)
    )


def key_pair_from(result: etree._Element, passcode: str, length: int) -> rsa.RSAPrivateKey:
    private = result.find(names.q("PrivateKey"))
    assert private is not None
    pair = etree.fromstring(
        decrypt_private_key_element(private, private_key_cipher_key(passcode, length))
    )

    def number(tag: str) -> int:
        element = pair.find(names.q(tag))
        assert element is not None
        assert element.text is not None
        return int.from_bytes(base64.b64decode(element.text), "big")

    public = rsa.RSAPublicNumbers(number("Exponent"), number("Modulus"))
    return rsa.RSAPrivateNumbers(
        number("P"),
        number("Q"),
        number("D"),
        number("DP"),
        number("DQ"),
        number("InverseQ"),
        public,
    ).private_key()


@pytest.fixture
def carol(services: Services) -> User:
    return services.users.create("carol", "correct horse battery", CLI)


def make_service(xkms_settings: Settings, services: Services, **update: object) -> XkmsService:
    settings = xkms_settings.model_copy(update=update)
    return xkms_service(settings, services.database, services.clock, services.audit)


@pytest.mark.parametrize(("cipher", "length"), [("tripledes-cbc", 24), ("aes128-cbc", 16)])
def test_register_without_a_key_returns_a_generated_key_the_client_can_decrypt_and_use(
    xkms_settings: Settings, services: Services, carol: User, cipher: str, length: int
) -> None:
    service = make_service(xkms_settings, services, xkms_private_key_cipher=cipher)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE)

    result = register_generated(service)

    assert result.get("ResultMajor") == names.SUCCESS
    method = result.find(f".//{{{names.XENC}}}EncryptionMethod")
    assert method is not None
    assert method.get("Algorithm") == names.XENC + cipher
    private_key = key_pair_from(result, PASSCODE, length)
    key_info = result.find(f"{names.q('KeyBinding')}/{names.ds('KeyInfo')}")
    assert key_info is not None
    public_key = public_key_from_key_info(key_info)
    assert public_key == private_key.public_key()
    signature = private_key.sign(b"signed by carol", padding.PKCS1v15(), hashes.SHA256())
    private_key.public_key().verify(
        signature, b"signed by carol", padding.PKCS1v15(), hashes.SHA256()
    )
    assert private_key.key_size == 2048
    with services.database.read() as connection:
        escrow = connection.execute(select(xkms_key_binding.c.private_key_escrow)).scalar_one()
    modulus = private_key.private_numbers().public_numbers.n.to_bytes(256, "big")
    assert escrow
    assert modulus.hex() not in escrow
    assert b"PRIVATE KEY" not in escrow.encode()


def test_a_wrong_passcode_cannot_decrypt_the_returned_key(
    xkms_settings: Settings, services: Services, carol: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE)
    result = register_generated(service)

    with pytest.raises((ValueError, etree.XMLSyntaxError)):
        key_pair_from(result, "another passcode", 24)


def test_register_without_a_key_and_without_private_key_asked_fails(
    xkms_settings: Settings, services: Services, carol: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE)

    result = answer(service, signed_request("RegisterRequest", "PrototypeKeyBinding", PASSCODE))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (names.SENDER, names.FAILURE)
    with services.database.read() as connection:
        assert connection.execute(select(xkms_key_binding.c.id)).first() is None


def recover_request(private_key: rsa.RSAPrivateKey, passcode: str) -> etree._Element:
    key_info = etree.Element(names.ds("KeyInfo"))
    key_info.append(key_value_element(private_key.public_key()))
    return signed_request(
        "RecoverRequest", "RecoverKeyBinding", passcode, key=etree.tostring(key_info).decode()
    )


def test_recover_returns_the_escrowed_key_and_revokes_the_binding(
    xkms_settings: Settings, services: Services, carol: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE)
    generated = key_pair_from(register_generated(service), PASSCODE, 24)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode="carol lost her laptop")

    result = answer(service, recover_request(generated, "carol lost her laptop"))

    assert result.get("ResultMajor") == names.SUCCESS
    recovered = key_pair_from(result, "carol lost her laptop", 24)
    assert recovered.private_numbers() == generated.private_numbers()
    status = result.find(f"{names.q('KeyBinding')}/{names.q('Status')}")
    assert status is not None
    assert status.get("StatusValue") == names.INVALID
    events = [e for e in services.audit.events() if e.action == "xkms.recover"]
    assert [(e.success, e.detail) for e in events] == [(True, "binding revoked")]

    again = answer(service, recover_request(generated, "carol lost her laptop"))
    assert again.get("ResultMinor") in (names.REFUSED, names.NO_AUTHENTICATION)


def test_recover_can_keep_the_binding_valid_by_setting(
    xkms_settings: Settings, services: Services, carol: User
) -> None:
    service = make_service(xkms_settings, services, xkms_keep_recovered=True)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE, uses=2)
    generated = key_pair_from(register_generated(service), PASSCODE, 24)

    result = answer(service, recover_request(generated, PASSCODE))

    status = result.find(f"{names.q('KeyBinding')}/{names.q('Status')}")
    assert status is not None
    assert status.get("StatusValue") == names.VALID


def test_recover_of_an_unknown_key_is_no_match(
    xkms_settings: Settings, services: Services, carol: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE, uses=2)
    register_generated(service)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    result = answer(service, recover_request(stranger, PASSCODE))

    assert result.get("ResultMinor") == names.NO_MATCH


def test_recover_of_a_client_generated_key_is_refused(
    xkms_settings: Settings, services: Services, carol: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE)
    client_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = services.clock.now()
    with services.database.write() as connection:
        BindingStore().insert(
            connection,
            NewBinding(
                binding_id="Iclient",
                user_id=carol.id,
                passcode_id=None,
                key_fingerprint=key_fingerprint(client_key.public_key()),
                public_key_pem=client_key.public_key()
                .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
                .decode(),
                key_name=None,
                key_usages=(),
                not_before=now,
                not_after=None,
                revocation_code_identifier=None,
                use_key_with=(PAIR,),
            ),
            now,
        )

    result = answer(service, recover_request(client_key, PASSCODE))

    assert (result.get("ResultMajor"), result.get("ResultMinor")) == (names.SENDER, names.REFUSED)
    refusal = [e for e in services.audit.events() if e.action == "xkms.recover"]
    assert [e.success for e in refusal] == [False]
    assert "only keys Passport generated" in refusal[0].detail


def test_two_recoveries_at_once_exactly_one_succeeds(
    xkms_settings: Settings, services: Services, carol: User
) -> None:
    service = make_service(xkms_settings, services)
    service.passcodes.authorize(carol, [PAIR], CLI, passcode=PASSCODE, uses=3)
    generated = key_pair_from(register_generated(service), PASSCODE, 24)
    outcomes: list[str | None] = []
    barrier = threading.Barrier(2)

    def recover() -> None:
        request = recover_request(generated, PASSCODE)
        barrier.wait()
        result = service.result_for("RecoverRequest", request, ENDPOINT, "192.0.2.4")
        outcomes.append(result.get("ResultMajor"))

    threads = [threading.Thread(target=recover) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(o or "" for o in outcomes) == sorted([names.SENDER, names.SUCCESS])
    recoveries = [e.success for e in services.audit.events() if e.action == "xkms.recover"]
    assert sorted(recoveries) == [False, True]
