"""What the XKMS service accepts: key sizes, algorithms, clock skew, request signatures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from passport.xkms.xmldsig import (
    HMAC_METHODS,
    STRONG_DIGEST_METHODS,
    STRONG_SIGNATURE_METHODS,
    SignaturePolicy,
)


@dataclass(frozen=True, slots=True)
class XkmsPolicy:
    """The service's policy; every field is a setting (see docs/xkms.md)."""

    min_rsa_bits: int = 2048
    # RSA-SHA1 signatures and SHA-1 digests outside KeyBindingAuthentication (old clients).
    legacy_sha1: bool = False
    # KeyBindingAuthentication with HMAC-SHA1 over SHA-1 digests, as the Recommendation's
    # samples use: accepted by default.
    accept_hmac_sha1: bool = True
    clock_skew: timedelta = timedelta(minutes=5)
    default_validity: timedelta = timedelta(days=365)
    require_proof_of_possession: bool = True
    require_signed_requests: bool = False
    # SHA-256 fingerprints (hex, of SubjectPublicKeyInfo) of client keys whose signed
    # requests are accepted when signatures are required; empty = any key that verifies.
    trusted_client_keys: frozenset[str] = field(default_factory=frozenset)
    # Service URIs accepted besides the endpoint's own public URL.
    accepted_services: frozenset[str] = field(default_factory=frozenset)
    # Server-generated keys: their size, and how their PrivateKey is encrypted.
    generated_key_bits: int = 2048
    private_key_cipher: Literal["tripledes-cbc", "aes128-cbc"] = "tripledes-cbc"
    # Whether a recovered binding stays valid (by default Recover revokes it).
    keep_recovered: bool = False
    # Operations ("Register", ...) that need the two-phase protocol, and the nonce lifetime.
    two_phase: frozenset[str] = field(default_factory=frozenset)
    nonce_lifetime: timedelta = timedelta(minutes=5)
    # Operations that wait for an administrator (asynchronous processing).
    approval: frozenset[str] = field(default_factory=frozenset)


def signature_policies(policy: XkmsPolicy) -> tuple[SignaturePolicy, SignaturePolicy]:
    """(KeyBindingAuthentication policy, policy for every other signature)."""
    hmac_policy = SignaturePolicy.key_binding_authentication()
    if not policy.accept_hmac_sha1:
        hmac_policy = SignaturePolicy(
            signature_methods=HMAC_METHODS & STRONG_SIGNATURE_METHODS,
            digest_methods=STRONG_DIGEST_METHODS,
        )
    key_policy = SignaturePolicy.default(
        legacy_sha1=policy.legacy_sha1, min_rsa_bits=policy.min_rsa_bits
    )
    return hmac_policy, key_policy
