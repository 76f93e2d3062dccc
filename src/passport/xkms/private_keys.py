"""Server-generated key pairs: escrow at rest, and `PrivateKey` for the client.

The client receives its private key as `xenc:EncryptedData` of an `RSAKeyPair`, encrypted
with the 0x04 derivation of its passcode (XKMS Part 2, 8.1); tripledes-cbc (which the
Recommendation requires) or aes128-cbc. At rest the key is PKCS#8 DER sealed with the
home's data key.
"""

from __future__ import annotations

import base64
import secrets
from typing import Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_private_key,
)
from lxml import etree

from passport.xkms import names
from passport.xkms.messages import Element
from passport.xkms.names import q
from passport.xkms.vault import Vault

CipherName = Literal["tripledes-cbc", "aes128-cbc"]
CIPHERS: dict[CipherName, tuple[str, int, int]] = {
    # name: (algorithm URI, key bytes, block bytes)
    "tripledes-cbc": (names.XENC + "tripledes-cbc", 24, 8),
    "aes128-cbc": (names.XENC + "aes128-cbc", 16, 16),
}
ELEMENT_TYPE = names.XENC + "Element"
ESCROW_PURPOSE = "xkms-escrowed-private-key"


def generate_key_pair(bits: int) -> rsa.RSAPrivateKey:
    """A new RSA key pair."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def seal_private_key(vault: Vault, private_key: rsa.RSAPrivateKey) -> str:
    """The private key sealed for the database."""
    der = private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return vault.seal(der, ESCROW_PURPOSE)


def open_private_key(vault: Vault, sealed: str) -> rsa.RSAPrivateKey:
    """An escrowed private key, opened."""
    # The sealed value is authenticated (AES-GCM under the home's data key) and Passport
    # generated the key itself, so the costly RSA consistency check (43 ms) proves nothing.
    key = load_der_private_key(
        vault.open(sealed, ESCROW_PURPOSE), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("an escrowed key must be an RSA key")
    return key


def _b64_int(value: int) -> str:
    return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")).decode()


def rsa_key_pair_element(private_key: rsa.RSAPrivateKey) -> Element:
    """`<RSAKeyPair>` with Modulus, Exponent, P, Q, DP, DQ, InverseQ, D (schema order)."""
    numbers = private_key.private_numbers()
    public = numbers.public_numbers
    element = etree.Element(q("RSAKeyPair"), nsmap={None: names.XKMS})  # type: ignore[dict-item]
    for tag, value in (
        ("Modulus", public.n),
        ("Exponent", public.e),
        ("P", numbers.p),
        ("Q", numbers.q),
        ("DP", numbers.dmp1),
        ("DQ", numbers.dmq1),
        ("InverseQ", numbers.iqmp),
        ("D", numbers.d),
    ):
        etree.SubElement(element, q(tag)).text = _b64_int(value)
    return element


def _cipher(name: CipherName, key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    if name == "tripledes-cbc":
        return Cipher(TripleDES(key), modes.CBC(iv))
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def private_key_element(
    private_key: rsa.RSAPrivateKey, cipher_key: bytes, cipher: CipherName
) -> Element:
    """`<PrivateKey><xenc:EncryptedData>` of the RSAKeyPair, for the passcode's holder.

    `cipher_key` is the passcode's 0x04 derivation (at least as long as the cipher needs;
    the derivation is prefix-stable)."""
    uri, key_bytes, block = CIPHERS[cipher]
    plaintext = etree.tostring(rsa_key_pair_element(private_key), encoding="utf-8")
    # XML Encryption padding: the last byte counts the padding bytes (PKCS#7 qualifies).
    pad = block - len(plaintext) % block
    padded = plaintext + bytes([pad]) * pad
    iv = secrets.token_bytes(block)
    encryptor = _cipher(cipher, cipher_key[:key_bytes], iv).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    private = etree.Element(q("PrivateKey"))
    data = etree.SubElement(private, f"{{{names.XENC}}}EncryptedData")
    data.set("Type", ELEMENT_TYPE)
    etree.SubElement(data, f"{{{names.XENC}}}EncryptionMethod").set("Algorithm", uri)
    cipher_data = etree.SubElement(data, f"{{{names.XENC}}}CipherData")
    etree.SubElement(cipher_data, f"{{{names.XENC}}}CipherValue").text = base64.b64encode(
        iv + ciphertext
    ).decode("ascii")
    return private


def decrypt_private_key_element(private: Element, cipher_key: bytes) -> bytes:
    """The RSAKeyPair XML inside a PrivateKey (what a client does; tests use it)."""
    data = private.find(f"{{{names.XENC}}}EncryptedData")
    if data is None:
        raise ValueError("PrivateKey holds no EncryptedData")
    method = data.find(f"{{{names.XENC}}}EncryptionMethod")
    value = data.find(f"{{{names.XENC}}}CipherData/{{{names.XENC}}}CipherValue")
    if method is None or value is None or value.text is None:
        raise ValueError("EncryptedData lacks EncryptionMethod or CipherValue")
    names_by_uri = {uri: name for name, (uri, _, _) in CIPHERS.items()}
    name = names_by_uri.get(method.get("Algorithm", ""))
    if name is None:
        raise ValueError(f"unsupported algorithm {method.get('Algorithm')}")
    _, key_bytes, block = CIPHERS[name]
    raw = base64.b64decode(value.text)
    iv, ciphertext = raw[:block], raw[block:]
    decryptor = _cipher(name, cipher_key[:key_bytes], iv).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= block:
        raise ValueError("bad padding")
    return padded[:-pad]
