"""The raw operations the benchmarks compare Passport with, run in-process in a loop.

Each function takes a deadline (`time.perf_counter()` value) and returns how many times it
did its work before the deadline; with deadline 0 it prepares and does the work once.
bench/harness.py runs them in several processes at once.
"""

from __future__ import annotations

import time
from functools import cache

import xmlsec
from argon2 import PasswordHasher
from lxml import etree

# The parameters Passport hashes with (passport.identity.passwords), spelled out here so
# that the baseline does not move if Passport's change: accounts.py checks they agree.
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}


def argon2_verify(deadline: float, stored_hash: str, password: str) -> int:
    """argon2id verifications of one password against one stored hash."""
    hasher = PasswordHasher(**ARGON2_PARAMETERS)
    count = 0
    while True:
        hasher.verify(stored_hash, password)
        count += 1
        if time.perf_counter() >= deadline:
            return count


@cache
def _signing_key(key_pem: bytes) -> xmlsec.Key:
    return xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)


def xmlsec_sign(deadline: float, document: bytes, element_id: str, key_pem: bytes) -> int:
    """Parse a document, sign the element with this Id (enveloped, exclusive c14n,
    RSA-SHA256, SHA-256 digest) and serialise it: what the service does to each result,
    without the certificate in KeyInfo and without Passport's own checks."""
    key = _signing_key(key_pem)
    count = 0
    while True:
        root = etree.fromstring(document)
        element = root.xpath("//*[@Id=$id]", id=element_id)[0]
        c = xmlsec.constants
        signature = xmlsec.template.create(
            element, c.TransformExclC14N, c.TransformRsaSha256, ns="ds"
        )
        element.insert(0, signature)
        reference = xmlsec.template.add_reference(
            signature, c.TransformSha256, uri="#" + element_id
        )
        xmlsec.template.add_transform(reference, c.TransformEnveloped)
        xmlsec.template.add_transform(reference, c.TransformExclC14N)
        xmlsec.tree.add_ids(root, ["Id"])
        context = xmlsec.SignatureContext()
        context.key = key
        context.sign(signature)
        etree.tostring(root)
        count += 1
        if time.perf_counter() >= deadline:
            return count
