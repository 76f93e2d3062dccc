"""Limited-use shared secrets (XKMS 2.0 Part 2, section 8.1): SASLprep and HMAC-SHA1 derivation.

A passcode or passphrase is prepared with SASLprep (RFC 4013), encoded as UTF-8 and
stretched with a chain of HMAC-SHA1 blocks keyed by a one-byte constant that names its use.
"""

from __future__ import annotations

import hashlib
import hmac
import stringprep
import unicodedata
from collections.abc import Callable

AUTHENTICATION_KEY = 0x01
REVOCATION_CODE = 0x02
REVOCATION_CODE_IDENTIFIER = 0x03
PRIVATE_KEY_CIPHER_KEY = 0x04

_HMAC_SHA1_LENGTH = 20
# Key lengths of the ciphers that may wrap a returned private key.
PRIVATE_KEY_CIPHER_KEY_LENGTHS = frozenset({16, 24, 32})

# RFC 4013 section 2.3: what SASLprep output must not contain (C.1.2, C.2.1, C.2.2, C.3-C.9).
_PROHIBITED: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("a non-ASCII space", stringprep.in_table_c12),
    ("an ASCII control character", stringprep.in_table_c21),
    ("a non-ASCII control character", stringprep.in_table_c22),
    ("a private use character", stringprep.in_table_c3),
    ("a non-character code point", stringprep.in_table_c4),
    ("a surrogate code point", stringprep.in_table_c5),
    ("a character inappropriate for plain text", stringprep.in_table_c6),
    ("a character inappropriate for canonical representation", stringprep.in_table_c7),
    ("a change-display-properties or deprecated character", stringprep.in_table_c8),
    ("a tagging character", stringprep.in_table_c9),
)


def saslprep(text: str) -> str:
    """Prepare `text` with SASLprep (RFC 4013) as a stored string; ValueError if prohibited."""
    # 2.1 Mapping: non-ASCII spaces to SPACE, "commonly mapped to nothing" removed.
    mapped = "".join(
        " " if stringprep.in_table_c12(character) else character
        for character in text
        if not stringprep.in_table_b1(character)
    )
    # 2.2 Normalization: Unicode form KC.
    prepared = unicodedata.normalize("NFKC", mapped)
    for position, character in enumerate(prepared):
        # 2.5 Unassigned code points: refused, since the result is a stored string.
        if stringprep.in_table_a1(character):
            raise ValueError(
                f"SASLprep: unassigned code point U+{ord(character):04X} at position {position}"
            )
        # 2.3 Prohibited output.
        for description, in_table in _PROHIBITED:
            if in_table(character):
                raise ValueError(
                    f"SASLprep: {description} (U+{ord(character):04X}) at position {position}"
                )
    _check_bidi(prepared)
    return prepared


def _check_bidi(prepared: str) -> None:
    """Apply the bidirectional rules of RFC 3454 section 6; ValueError if broken."""
    right_to_left = [stringprep.in_table_d1(character) for character in prepared]
    if not any(right_to_left):
        return
    if any(stringprep.in_table_d2(character) for character in prepared):
        raise ValueError("SASLprep: mixes right-to-left and left-to-right characters")
    if not (right_to_left[0] and right_to_left[-1]):
        raise ValueError(
            "SASLprep: a string with right-to-left characters must start and end with one"
        )


def derive(secret: bytes, k: int, length: int) -> bytes:
    """Return `length` bytes of the HMAC-SHA1 chain over `secret` for the use constant `k`."""
    if not 0 <= k <= 0xFF:
        raise ValueError(f"derivation constant must be one byte, got {k}")
    if length < 0:
        raise ValueError(f"derived length must not be negative, got {length}")
    blocks: list[bytes] = []
    key = bytes([k])
    produced = 0
    while produced < length:
        block = hmac.new(key, secret, hashlib.sha1).digest()
        blocks.append(block)
        produced += len(block)
        key = bytes([block[0] ^ k]) + block[1:]
    return b"".join(blocks)[:length]


def prepare(passphrase: str) -> bytes:
    """Return the UTF-8 SASLprep form of a passcode or passphrase; ValueError if empty."""
    prepared = saslprep(passphrase)
    if not prepared:
        raise ValueError("shared secret is empty after SASLprep")
    return prepared.encode("utf-8")


def legacy_prepare(passphrase: str) -> bytes:
    """Return the draft-era form of a passphrase: ASCII lower case, whitespace dropped.

    Pre-Recommendation clients (and the Recommendation's own sample RevocationCode) derive
    from this form rather than from SASLprep.
    """
    folded = "".join(
        character.lower() if "A" <= character <= "Z" else character
        for character in passphrase
        if character not in " \t\r\n"
    )
    if not folded:
        raise ValueError("shared secret is empty after dropping whitespace")
    return folded.encode("utf-8")


def authentication_key(passcode: str) -> bytes:
    """Return the HMAC-SHA1 key of a KeyBindingAuthentication made with `passcode`."""
    return derive(prepare(passcode), AUTHENTICATION_KEY, _HMAC_SHA1_LENGTH)


def revocation_code(passphrase: str) -> bytes:
    """Return the 20-byte RevocationCode for `passphrase`."""
    return derive(prepare(passphrase), REVOCATION_CODE, _HMAC_SHA1_LENGTH)


def revocation_code_identifier(code: bytes) -> bytes:
    """Return the RevocationCodeIdentifier of a raw 20-byte RevocationCode."""
    if len(code) != _HMAC_SHA1_LENGTH:
        raise ValueError(f"a RevocationCode is {_HMAC_SHA1_LENGTH} bytes, got {len(code)}")
    return derive(code, REVOCATION_CODE_IDENTIFIER, _HMAC_SHA1_LENGTH)


def private_key_cipher_key(passcode: str, length: int) -> bytes:
    """Return the key that wraps a returned private key: 24 bytes for 3DES-CBC, 16 for AES-128."""
    if length not in PRIVATE_KEY_CIPHER_KEY_LENGTHS:
        raise ValueError(f"no supported cipher takes a {length}-byte key")
    return derive(prepare(passcode), PRIVATE_KEY_CIPHER_KEY, length)
