"""X-KRSS: Register and Revoke key bindings of Passport users."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, select

from passport.identity.audit import Actor, AuditLog
from passport.identity.clock import Clock
from passport.storage.database import Database
from passport.storage.tables import user_account
from passport.xkms import names
from passport.xkms.bindings import BindingStore, NewBinding, Query, StoredBinding
from passport.xkms.certificates import WANTS_CERTIFICATE, Certificates
from passport.xkms.errors import (
    Failure,
    NoAuthentication,
    NoMatch,
    ProofOfPossessionRequired,
    Refused,
    XkmsError,
)
from passport.xkms.keys import (
    KeyInfoError,
    PublicKey,
    key_fingerprint,
    public_key_from_key_info,
    rsa_key_bits,
)
from passport.xkms.kiss import binding_query
from passport.xkms.messages import (
    Element,
    KeyBindingSpec,
    Request,
    base64_value,
    child,
    new_id,
    new_result,
    parse_key_binding,
)
from passport.xkms.passcodes import Passcode, PasscodeService
from passport.xkms.policy import XkmsPolicy
from passport.xkms.private_keys import generate_key_pair, private_key_element, seal_private_key
from passport.xkms.results import key_binding_element, status_of
from passport.xkms.secrets import derive
from passport.xkms.xmldsig import (
    SignatureError,
    SignaturePolicy,
    verify_hmac_signature,
    verify_key_signature,
)

REVOCATION_CODE_BYTES = 20


def authentication_signature(request: Request) -> Element | None:
    """The ds:Signature of Authentication/KeyBindingAuthentication, if any."""
    authentication = child(request.element, "Authentication")
    if authentication is None:
        return None
    bound = child(authentication, "KeyBindingAuthentication")
    return None if bound is None else child(bound, "Signature", names.DS)


@dataclass
class Krss:
    """Register and Revoke, each audited whether it succeeds or not."""

    database: Database
    clock: Clock
    audit: AuditLog
    passcodes: PasscodeService
    store: BindingStore
    policy: XkmsPolicy
    hmac_policy: SignaturePolicy
    key_policy: SignaturePolicy
    certificates: Certificates | None = None

    # Register -------------------------------------------------------------------------

    def register(self, request: Request, service: str, client_address: str) -> Element:
        """RegisterResult with the new KeyBinding (and, for a key Passport generated, its
        PrivateKey); XkmsError (audited) when refused."""
        target = "key:unknown"
        private_key: rsa.RSAPrivateKey | None = None
        try:
            spec = self._prototype(request)
            if spec.key_info is None:
                if names.RESPOND_PRIVATE_KEY not in request.respond_with:
                    raise Failure(
                        "PrototypeKeyBinding has no KeyInfo and RespondWith asks for no PrivateKey"
                    )
                passcode, owner = self._authenticate_register(request, spec)
                self._check_allowed(passcode, spec)
                private_key = generate_key_pair(self.policy.generated_key_bits)
                public_key: PublicKey = private_key.public_key()
            else:
                public_key = self._public_key(spec)
                target = f"key:{key_fingerprint(public_key)[:16]}"
                passcode, owner = self._authenticate_register(request, spec)
                self._check_allowed(passcode, spec)
                self.check_key_size(public_key)
                self.check_proof_of_possession(request, spec, public_key)
            escrow = None
            if private_key is not None:
                escrow = seal_private_key(self.passcodes.vault, private_key)
            binding, certificate = self._store_registration(
                spec, public_key, passcode, escrow, self.wants_certificate(request)
            )
        except XkmsError as error:
            self.audit_refusal(client_address, "xkms.register", target, error)
            raise
        self.audit.record(
            Actor(f"user:{owner}", client_address),
            "xkms.register",
            f"key:{binding.key_fingerprint[:16]} binding:{binding.binding_id}",
            success=True,
            detail=("generated key; " if private_key is not None else "")
            + " ".join(str(p) for p in binding.use_key_with)[:200],
        )
        result = new_result(request, "RegisterResult", service)
        respond_with = request.respond_with
        if private_key is not None:
            respond_with = respond_with | {names.RESPOND_KEY_VALUE}
        result.append(
            key_binding_element(
                binding,
                respond_with,
                status=status_of(binding, self.clock.now()),
                x509_data=self.x509_data(request, certificate),
            )
        )
        if private_key is not None:
            result.append(
                private_key_element(
                    private_key, passcode.cipher_key, self.policy.private_key_cipher
                )
            )
        return result

    def _prototype(self, request: Request) -> KeyBindingSpec:
        element = child(request.element, "PrototypeKeyBinding")
        if element is None:
            raise Failure("RegisterRequest has no PrototypeKeyBinding")
        spec = parse_key_binding(element)
        if not spec.id:
            raise Failure("PrototypeKeyBinding has no Id for the signatures to reference")
        return spec

    def _public_key(self, spec: KeyBindingSpec) -> PublicKey:
        if spec.key_info is None:
            raise Failure("PrototypeKeyBinding has no KeyInfo: Passport registers client keys")
        try:
            return public_key_from_key_info(spec.key_info)
        except KeyInfoError as exc:
            raise Failure(f"KeyInfo: {exc}") from None

    def _authenticate_register(
        self, request: Request, spec: KeyBindingSpec
    ) -> tuple[Passcode, str]:
        signature = authentication_signature(request)
        if signature is None:
            raise NoAuthentication("no KeyBindingAuthentication")
        with self.database.read() as connection:
            candidates = self.passcodes.candidates(connection, spec.use_key_with)
            passcode = self.verifying_passcode(signature, spec.element, candidates)
            owner = _username(connection, passcode.user_id)
        unusable = passcode.usable(self.clock.now())
        if unusable is not None:
            raise NoAuthentication(unusable)
        return passcode, owner

    def verifying_passcode(
        self, signature: Element, signed: Element, candidates: list[Passcode]
    ) -> Passcode:
        """The passcode whose key verifies the KeyBindingAuthentication over `signed`;
        NoAuthentication when none does, Refused for an algorithm the policy refuses."""
        for passcode in candidates:
            try:
                verify_hmac_signature(
                    signature, passcode.authentication_key, signed, self.hmac_policy
                )
            except SignatureError as error:
                if error.kind == "invalid":
                    continue
                if error.kind in ("algorithm", "key"):
                    raise Refused(f"KeyBindingAuthentication: {error.reason}") from None
                raise NoAuthentication(f"KeyBindingAuthentication: {error.reason}") from None
            return passcode
        raise NoAuthentication("no passcode verifies the KeyBindingAuthentication")

    def _check_allowed(self, passcode: Passcode, spec: KeyBindingSpec) -> None:
        extra = [pair for pair in spec.use_key_with if pair not in passcode.allowed]
        if extra:
            raise Refused("passcode does not allow UseKeyWith " + "; ".join(str(p) for p in extra))

    def authenticate_owner(
        self, request: Request, spec: KeyBindingSpec, binding: StoredBinding
    ) -> Passcode:
        """The usable passcode of the binding's owner whose key made the request's
        KeyBindingAuthentication and that covers the binding's UseKeyWith values (Reissue
        and Recover authenticate this way)."""
        signature = authentication_signature(request)
        if signature is None or binding.user_id is None:
            raise NoAuthentication("no KeyBindingAuthentication")
        with self.database.read() as connection:
            candidates = self.passcodes.for_user(connection, binding.user_id)
        passcode = self.verifying_passcode(signature, spec.element, candidates)
        unusable = passcode.usable(self.clock.now())
        if unusable is not None:
            raise NoAuthentication(unusable)
        if not set(binding.use_key_with) <= passcode.allowed:
            raise Refused("passcode does not cover the binding's UseKeyWith values")
        return passcode

    def wants_certificate(self, request: Request) -> bool:
        """Whether the request asked for an X.509 certificate (and Passport has a CA)."""
        return self.certificates is not None and bool(request.respond_with & WANTS_CERTIFICATE)

    def x509_data(self, request: Request, certificate: x509.Certificate | None) -> Element | None:
        """The ds:X509Data a result's KeyBinding carries, as RespondWith asked."""
        if self.certificates is None:
            return None
        crls = []
        if names.RESPOND_X509_CRL in request.respond_with:
            crls = self.certificates.crls(self.clock.now())
        return self.certificates.x509_data(request.respond_with, certificate, crls)

    def check_key_size(self, public_key: PublicKey) -> None:
        """Refused when an RSA key is smaller than the policy's minimum."""
        bits = rsa_key_bits(public_key)
        if bits is not None and bits < self.policy.min_rsa_bits:
            raise Refused(f"RSA key of {bits} bits; at least {self.policy.min_rsa_bits} required")

    def check_proof_of_possession(
        self, request: Request, spec: KeyBindingSpec, public_key: PublicKey
    ) -> None:
        """Verify the ProofOfPossession over the binding with the key being bound."""
        proof = child(request.element, "ProofOfPossession")
        signature = None if proof is None else child(proof, "Signature", names.DS)
        if signature is None:
            if self.policy.require_proof_of_possession:
                raise ProofOfPossessionRequired("no ProofOfPossession")
            return
        try:
            verify_key_signature(signature, public_key, spec.element, self.key_policy)
        except SignatureError as error:
            if error.kind in ("algorithm", "key"):
                raise Refused(f"ProofOfPossession: {error.reason}") from None
            raise ProofOfPossessionRequired(f"ProofOfPossession: {error.reason}") from None

    def _store_registration(
        self,
        spec: KeyBindingSpec,
        public_key: PublicKey,
        passcode: Passcode,
        escrow: str | None,
        issue_certificate: bool,
    ) -> tuple[StoredBinding, x509.Certificate | None]:
        now = self.clock.now()
        not_before = max(spec.not_before or now, now - self.policy.clock_skew)
        not_after = spec.not_on_or_after or now + self.policy.default_validity
        if not_after <= not_before:
            raise Refused("ValidityInterval ends before it begins")
        fingerprint = key_fingerprint(public_key)
        new = NewBinding(
            binding_id=new_id(),
            user_id=passcode.user_id,
            passcode_id=passcode.id,
            key_fingerprint=fingerprint,
            public_key_pem=public_key.public_bytes(
                Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
            ).decode("ascii"),
            key_name=spec.key_name,
            key_usages=spec.key_usages,
            not_before=not_before,
            not_after=not_after,
            revocation_code_identifier=spec.revocation_code_identifier,
            use_key_with=spec.use_key_with,
            private_key_escrow=escrow,
        )
        with self.database.write() as connection:
            live = self.store.find(connection, binding_query_for(fingerprint), limit=1)
            if live:
                raise Refused("this key is already registered")
            if not self.passcodes.consume(connection, passcode.id):
                raise NoAuthentication("passcode used up")
            self.store.insert(connection, new, now)
            stored = self.store.by_binding_id(connection, new.binding_id)
            if stored is None:
                raise Failure("the new binding could not be read back")
            certificate = None
            if issue_certificate and self.certificates is not None:
                certificate = self.certificates.issue(connection, stored, public_key, now)
        return stored, certificate

    # Revoke ---------------------------------------------------------------------------

    def revoke(self, request: Request, service: str, client_address: str) -> Element:
        """RevokeResult with the revoked KeyBinding(s); XkmsError (audited) when refused."""
        target = "key:unknown"
        try:
            element = child(request.element, "RevokeKeyBinding")
            if element is None:
                raise Failure("RevokeRequest has no RevokeKeyBinding")
            spec = parse_key_binding(element)
            with self.database.read(snapshot=True) as connection:
                live = self.store.find(connection, binding_query(spec, include_revoked=False))
            if not live:
                raise NoMatch("no live key binding matches")
            target = f"key:{live[0].key_fingerprint[:16]}"
            chosen, passcode, how = self._authorize_revoke(request, spec, live)
            revoked = self._store_revocation(chosen, passcode)
        except XkmsError as error:
            self.audit_refusal(client_address, "xkms.revoke", target, error)
            raise
        for binding in revoked:
            self.audit.record(
                Actor(f"user:{binding.username or 'deleted'}", client_address),
                "xkms.revoke",
                f"key:{binding.key_fingerprint[:16]} binding:{binding.binding_id}",
                success=True,
                detail=how,
            )
        result = new_result(request, "RevokeResult", service)
        now = self.clock.now()
        for binding in revoked:
            result.append(
                key_binding_element(binding, request.respond_with, status=status_of(binding, now))
            )
        return result

    def _authorize_revoke(
        self, request: Request, spec: KeyBindingSpec, live: list[StoredBinding]
    ) -> tuple[list[StoredBinding], Passcode | None, str]:
        code_element = child(request.element, "RevocationCode")
        if code_element is not None:
            code = base64_value(code_element, "RevocationCode") or b""
            identifier = derive(code, 0x03, REVOCATION_CODE_BYTES)
            matching = [
                b
                for b in live
                if b.revocation_code_identifier is not None
                and hmac.compare_digest(identifier, b.revocation_code_identifier)
            ]
            if not matching:
                raise NoAuthentication("RevocationCode does not match")
            return matching, None, "revocation code"
        signature = authentication_signature(request)
        if signature is None:
            raise NoAuthentication("neither RevocationCode nor KeyBindingAuthentication")
        for binding in live:
            if binding.user_id is None:
                continue
            with self.database.read() as connection:
                candidates = self.passcodes.for_user(connection, binding.user_id)
            try:
                passcode = self.verifying_passcode(signature, spec.element, candidates)
            except NoAuthentication:
                continue
            unusable = passcode.usable(self.clock.now())
            if unusable is not None:
                raise NoAuthentication(unusable)
            if not set(binding.use_key_with) <= passcode.allowed:
                raise Refused("passcode does not cover the binding's UseKeyWith values")
            return [binding], passcode, "passcode"
        raise NoAuthentication("no passcode of the key's owner verifies")

    def _store_revocation(
        self, chosen: list[StoredBinding], passcode: Passcode | None
    ) -> list[StoredBinding]:
        now = self.clock.now()
        revoked = []
        with self.database.write() as connection:
            if passcode is not None and not self.passcodes.consume(connection, passcode.id):
                raise NoAuthentication("passcode used up")
            for binding in chosen:
                if self.store.revoke(connection, binding.id, now):
                    revoked.append(binding)
            if not revoked:
                raise NoMatch("already revoked")
            reread = [self.store.by_binding_id(connection, b.binding_id) for b in revoked]
        return [b for b in reread if b is not None]

    def audit_refusal(
        self, client_address: str, action: str, target: str, error: XkmsError
    ) -> None:
        """An audit line for a refused request, with its ResultMinor and the reason."""
        minor = (error.minor or error.major).rsplit("#", 1)[-1]
        self.audit.record(
            Actor.anonymous(client_address),
            action,
            target,
            success=False,
            detail=f"{minor}: {error.reason}",
        )


def binding_query_for(fingerprint: str) -> Query:
    """Live bindings of one key."""
    return Query(key_fingerprint=fingerprint)


def _username(connection: Connection, user_id: int) -> str:
    name = connection.execute(
        select(user_account.c.username).where(user_account.c.id == user_id)
    ).scalar_one_or_none()
    return str(name) if name is not None else "deleted"
