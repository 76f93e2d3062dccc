"""Limited-use shared secrets: SASLprep (RFC 4013) and the XKMS 8.1 derivations."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from passport.xkms import secrets

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "xkms" / "samples"
XKMS = "{http://www.w3.org/2002/03/xkms#}"
SAMPLE_PASSPHRASE = "Help I Have Revealed My Key"


def sample_text(name: str, tag: str) -> str:
    """Return the whitespace-stripped text of the first `tag` element in a sample message."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(SAMPLES / name), parser).getroot()
    element = root.find(f".//{XKMS}{tag}")
    assert element is not None
    return "".join((element.text or "").split())


def test_authentication_key_matches_the_recommendation_vector() -> None:
    expected = "d6cc34cb83fae2993a393aa8e7de9a06c7fa2c92"
    assert secrets.authentication_key("024837").hex() == expected


def test_revocation_code_matches_the_readme_vector() -> None:
    expected = "1c0857c95458c26f44327efd0ef055b08cad5c78"
    assert secrets.revocation_code(SAMPLE_PASSPHRASE).hex() == expected


def test_revocation_code_identifier_is_derived_from_the_raw_code() -> None:
    code = secrets.revocation_code(SAMPLE_PASSPHRASE)
    identifier = secrets.revocation_code_identifier(code)
    assert base64.b64encode(identifier).decode() == "5rRN2cOZiMlciJxBqaelrZDCzSE="


def test_samples_revocation_code_comes_from_the_legacy_rule() -> None:
    code = secrets.derive(secrets.legacy_prepare(SAMPLE_PASSPHRASE), secrets.REVOCATION_CODE, 20)
    assert base64.b64encode(code).decode() == sample_text("revokeRequest.xml", "RevocationCode")


def test_samples_revocation_code_identifier_comes_from_the_legacy_rule() -> None:
    code = base64.b64decode(sample_text("revokeRequest.xml", "RevocationCode"))
    identifier = secrets.revocation_code_identifier(code)
    expected = sample_text("registerRequest.xml", "RevocationCodeIdentifier")
    assert base64.b64encode(identifier).decode() == expected


def test_samples_revocation_code_is_not_the_recommendation_rule() -> None:
    code = base64.b64encode(secrets.revocation_code(SAMPLE_PASSPHRASE)).decode()
    assert code != sample_text("revokeRequest.xml", "RevocationCode")


def test_legacy_prepare_lowercases_ascii_and_drops_spaces() -> None:
    assert secrets.legacy_prepare(SAMPLE_PASSPHRASE) == b"helpihaverevealedmykey"


def test_legacy_prepare_refuses_a_blank_passphrase() -> None:
    with pytest.raises(ValueError, match="empty"):
        secrets.legacy_prepare("   ")


def test_derive_chains_blocks_keyed_by_the_previous_block() -> None:
    secret = b"secret"
    first = hmac.new(b"\x04", secret, hashlib.sha1).digest()
    second = hmac.new(bytes([first[0] ^ 0x04]) + first[1:], secret, hashlib.sha1).digest()
    assert secrets.derive(secret, 0x04, 24) == (first + second)[:24]


def test_private_key_cipher_key_lengths() -> None:
    assert len(secrets.private_key_cipher_key("024837", 24)) == 24
    assert len(secrets.private_key_cipher_key("024837", 16)) == 16
    assert secrets.private_key_cipher_key("024837", 24)[:16] == secrets.private_key_cipher_key(
        "024837", 16
    )


def test_private_key_cipher_key_refuses_an_unknown_length() -> None:
    with pytest.raises(ValueError, match="7-byte"):
        secrets.private_key_cipher_key("024837", 7)


def test_each_use_constant_gives_a_different_key() -> None:
    prepared = secrets.prepare("024837")
    keys = {secrets.derive(prepared, k, 20) for k in range(1, 5)}
    assert len(keys) == 4


def test_authentication_key_applies_saslprep() -> None:
    # U+00A0 is a non-ASCII space (mapped to SPACE); U+00AD is mapped to nothing.
    assert secrets.authentication_key("pass\u00a0word\u00ad") == secrets.authentication_key(
        "pass word"
    )


def test_authentication_key_refuses_an_empty_passcode() -> None:
    with pytest.raises(ValueError, match="empty"):
        secrets.authentication_key("\u00ad")


def test_revocation_code_identifier_refuses_a_code_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        secrets.revocation_code_identifier(b"\x00" * 19)


@pytest.mark.parametrize(
    ("text", "prepared"),
    [
        ("I\u00adX", "IX"),
        ("user", "user"),
        ("USER", "USER"),
        ("\u00aa", "a"),
        ("\u2168", "IX"),
        ("a\u2003b", "a b"),
        ("\u0627\u0628", "\u0627\u0628"),
    ],
)
def test_saslprep_rfc4013_examples(text: str, prepared: str) -> None:
    assert secrets.saslprep(text) == prepared


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("\u0007", "ASCII control"),
        ("\u0627\u0031", "start and end"),
        ("\u0627a\u0628", "mixes"),
        ("a\ue000", "private use"),
        ("a\U000e0001", "tagging"),
        ("a\u0221", "unassigned"),
        ("a\ufffe", "non-character"),
        ("a\u200e", "change-display"),
        ("a\u0085", "non-ASCII control"),
    ],
)
def test_saslprep_refuses_prohibited_input(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        secrets.saslprep(text)


@given(
    secret=st.binary(max_size=64),
    k=st.integers(min_value=0, max_value=255),
    length=st.integers(min_value=0, max_value=100),
    extra=st.integers(min_value=0, max_value=60),
)
def test_derive_has_the_asked_length_and_is_prefix_stable(
    secret: bytes, k: int, length: int, extra: int
) -> None:
    short = secrets.derive(secret, k, length)
    longer = secrets.derive(secret, k, length + extra)
    assert len(short) == length
    assert len(longer) == length + extra
    assert longer[:length] == short


@pytest.mark.parametrize(("k", "length"), [(256, 20), (-1, 20), (1, -1)])
def test_derive_refuses_bad_arguments(k: int, length: int) -> None:
    with pytest.raises(ValueError, match=r"derivation constant|negative"):
        secrets.derive(b"x", k, length)
