"""XKMS requests as a client writes them, in SOAP 1.1 envelopes, for bench/xkms.py.

Locate and Validate ask for a key by UseKeyWith (Validate also by its KeyValue).
Register carries a new RSA-2048 key, a KeyBindingAuthentication (HMAC-SHA256 with the
passcode's authentication key) and a ProofOfPossession (RSA-SHA256 with the new key), both
over the PrototypeKeyBinding, exclusive c14n, SHA-256 digests.

A Register load needs thousands of distinct keys, and generating an RSA-2048 key takes
about 0.1 s here. So `register_pool` generates a few keys and pairs their primes: P primes
give P(P-1)/2 distinct 2048-bit moduli, each a valid RSA key with its own private key for
the proof of possession. (Keys that share primes protect nothing against each other; these
are throwaway keys, and the server's work per request is the same as for any key.)
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import xmlsec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from passport.xkms import names
from passport.xkms.keys import key_value_element
from passport.xkms.secrets import authentication_key

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
RFC2633 = "urn:ietf:rfc:2633"
KEY_BITS = 2048
PUBLIC_EXPONENT = 65537


def _envelope(request: etree._Element) -> etree._Element:
    envelope = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    etree.SubElement(envelope, f"{{{SOAP11}}}Body").append(request)
    return envelope


def _request(kind: str, service: str) -> etree._Element:
    request = etree.Element(names.q(kind), nsmap=names.NSMAP)
    request.set("Id", "I" + secrets.token_hex(16))
    request.set("Service", service)
    etree.SubElement(request, names.q("RespondWith")).text = names.RESPOND_KEY_VALUE
    return request


def _use_key_with(parent: etree._Element, identifier: str) -> None:
    etree.SubElement(parent, names.q("UseKeyWith"), Application=RFC2633, Identifier=identifier)


def _key_info(parent: etree._Element, public_key: rsa.RSAPublicKey) -> None:
    etree.SubElement(parent, names.ds("KeyInfo")).append(key_value_element(public_key))


def locate(service: str, identifier: str) -> bytes:
    """A LocateRequest for the keys bound to an e-mail address (RFC 2633 UseKeyWith)."""
    request = _request("LocateRequest", service)
    _use_key_with(etree.SubElement(request, names.q("QueryKeyBinding")), identifier)
    return etree.tostring(_envelope(request), xml_declaration=True, encoding="utf-8")


def validate(service: str, identifier: str, public_key: rsa.RSAPublicKey) -> bytes:
    """A ValidateRequest: is this key bound to this e-mail address?"""
    request = _request("ValidateRequest", service)
    query = etree.SubElement(request, names.q("QueryKeyBinding"))
    _key_info(query, public_key)
    etree.SubElement(query, names.q("KeyUsage")).text = names.SIGNATURE
    _use_key_with(query, identifier)
    return etree.tostring(_envelope(request), xml_declaration=True, encoding="utf-8")


def register(service: str, identifier: str, passcode: str, private_key: rsa.RSAPrivateKey) -> bytes:
    """A RegisterRequest for the key, authenticated with the passcode, with proof of possession."""
    request = _request("RegisterRequest", service)
    prototype = etree.SubElement(request, names.q("PrototypeKeyBinding"))
    prototype_id = "P" + secrets.token_hex(16)
    prototype.set("Id", prototype_id)
    _key_info(prototype, private_key.public_key())
    etree.SubElement(prototype, names.q("KeyUsage")).text = names.SIGNATURE
    _use_key_with(prototype, identifier)
    authentication = etree.SubElement(request, names.q("Authentication"))
    bound = etree.SubElement(authentication, names.q("KeyBindingAuthentication"))
    proof = etree.SubElement(request, names.q("ProofOfPossession"))
    envelope = _envelope(request)
    xmlsec.tree.add_ids(envelope, ["Id"])
    hmac_key = xmlsec.Key.from_binary_data(
        xmlsec.constants.KeyDataHmac, authentication_key(passcode)
    )
    _sign_detached(bound, prototype_id, xmlsec.constants.TransformHmacSha256, hmac_key)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    rsa_key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)
    _sign_detached(proof, prototype_id, xmlsec.constants.TransformRsaSha256, rsa_key)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _sign_detached(
    parent: etree._Element, reference_id: str, method: xmlsec.Transform, key: xmlsec.Key
) -> None:
    c = xmlsec.constants
    signature = xmlsec.template.create(parent, c.TransformExclC14N, method, ns="ds")
    parent.append(signature)
    reference = xmlsec.template.add_reference(signature, c.TransformSha256, uri="#" + reference_id)
    xmlsec.template.add_transform(reference, c.TransformExclC14N)
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(signature)


# Many distinct keys, quickly ------------------------------------------------------------


def new_key(bits: int = KEY_BITS) -> rsa.RSAPrivateKey:
    """A freshly generated RSA key."""
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)


def _primes(count: int) -> list[int]:
    primes: list[int] = []
    for _ in range(count):
        numbers = new_key().private_numbers()
        primes += [numbers.p, numbers.q]
    return primes


def key_from_primes(p: int, q: int) -> rsa.RSAPrivateKey:
    """The RSA key with modulus p*q and exponent 65537."""
    phi = (p - 1) * (q - 1)
    d = pow(PUBLIC_EXPONENT, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q),
    )
    # The key was just built from primes that OpenSSL generated: its consistency check
    # (about 40 ms per key) would dominate building the pool.
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def _register_batch(
    service: str, identifier: str, passcode: str, pairs: Sequence[tuple[int, int]]
) -> list[bytes]:
    return [register(service, identifier, passcode, key_from_primes(p, q)) for p, q in pairs]


def register_pool(
    service: str, identifier: str, passcode: str, count: int, processes: int
) -> list[bytes]:
    """`count` RegisterRequests, each for a different RSA-2048 key, built in N processes."""
    primes_needed = math.ceil((1 + math.sqrt(1 + 8 * count)) / 2)
    keys_needed = math.ceil(primes_needed / 2)
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        shares = [
            keys_needed // processes + (i < keys_needed % processes) for i in range(processes)
        ]
        primes = [p for batch in pool.map(_primes, shares) for p in batch]
        pairs = list(itertools.islice(itertools.combinations(primes, 2), count))
        size = math.ceil(len(pairs) / processes)
        batches = [pairs[i : i + size] for i in range(0, len(pairs), size)]
        futures = [
            pool.submit(_register_batch, service, identifier, passcode, batch) for batch in batches
        ]
        return [body for future in futures for body in future.result()]
