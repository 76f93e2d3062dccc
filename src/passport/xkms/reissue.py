"""X-KRSS Reissue: a live binding gets a new validity interval."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from passport.identity.audit import Actor
from passport.xkms.bindings import Query, StoredBinding
from passport.xkms.errors import Failure, NoAuthentication, NoMatch, Refused, XkmsError
from passport.xkms.keys import KeyInfoError, PublicKey, key_fingerprint, public_key_from_key_info
from passport.xkms.krss import Krss
from passport.xkms.messages import (
    Element,
    KeyBindingSpec,
    Request,
    child,
    new_result,
    parse_key_binding,
)
from passport.xkms.passcodes import Passcode
from passport.xkms.results import key_binding_element, status_of


@dataclass
class Reissue:
    """Reissue, authenticated like Register: a passcode of the binding's owner that covers
    its UseKeyWith values (the registering one while it has uses left, or a new one), and
    a ProofOfPossession by the key."""

    krss: Krss

    def reissue(self, request: Request, service: str, client_address: str) -> Element:
        """ReissueResult with the renewed KeyBinding; XkmsError (audited) when refused."""
        target = "key:unknown"
        try:
            spec, public_key = self._binding(request)
            target = f"key:{key_fingerprint(public_key)[:16]}"
            binding = self._live_binding(key_fingerprint(public_key))
            passcode = self.krss.authenticate_owner(request, spec, binding)
            self.krss.check_key_size(public_key)
            self.krss.check_proof_of_possession(request, spec, public_key)
            renewed, certificate = self._renew(
                spec, binding, passcode, public_key, self.krss.wants_certificate(request)
            )
        except XkmsError as error:
            self.krss.audit_refusal(client_address, "xkms.reissue", target, error)
            raise
        interval = f"until {renewed.not_after:%Y-%m-%dT%H:%M:%SZ}" if renewed.not_after else ""
        self.krss.audit.record(
            Actor(f"user:{renewed.username or 'deleted'}", client_address),
            "xkms.reissue",
            f"{target} binding:{renewed.binding_id}",
            success=True,
            detail=interval,
        )
        result = new_result(request, "ReissueResult", service)
        result.append(
            key_binding_element(
                renewed,
                request.respond_with,
                status=status_of(renewed, self.krss.clock.now()),
                x509_data=self.krss.x509_data(request, certificate),
            )
        )
        return result

    def _binding(self, request: Request) -> tuple[KeyBindingSpec, PublicKey]:
        element = child(request.element, "ReissueKeyBinding")
        if element is None:
            raise Failure("ReissueRequest has no ReissueKeyBinding")
        spec = parse_key_binding(element)
        if not spec.id:
            raise Failure("ReissueKeyBinding has no Id for the signatures to reference")
        if spec.key_info is None:
            raise Failure("ReissueKeyBinding has no KeyInfo")
        try:
            return spec, public_key_from_key_info(spec.key_info)
        except KeyInfoError as exc:
            raise Failure(f"KeyInfo: {exc}") from None

    def _live_binding(self, fingerprint: str) -> StoredBinding:
        with self.krss.database.read(snapshot=True) as connection:
            found = self.krss.store.find(
                connection, Query(key_fingerprint=fingerprint, include_revoked=True)
            )
        if not found:
            raise NoMatch("no key binding of this key")
        live = [b for b in found if b.revoked_at is None]
        if not live:
            raise Refused("the key binding is revoked")
        if live[0].owner_gone:
            raise Refused("the key binding's owner is locked or deleted")
        return live[0]

    def _renew(
        self,
        spec: KeyBindingSpec,
        binding: StoredBinding,
        passcode: Passcode,
        public_key: PublicKey,
        issue_certificate: bool,
    ) -> tuple[StoredBinding, x509.Certificate | None]:
        policy = self.krss.policy
        now = self.krss.clock.now()
        not_before = max(spec.not_before or now, now - policy.clock_skew)
        not_after = spec.not_on_or_after or now + policy.default_validity
        if not_after <= not_before:
            raise Refused("ValidityInterval ends before it begins")
        with self.krss.database.write() as connection:
            if not self.krss.passcodes.consume(connection, passcode.id):
                raise NoAuthentication("passcode used up")
            if not self.krss.store.renew(connection, binding.id, not_before, not_after):
                raise Refused("the key binding was revoked meanwhile")
            renewed = self.krss.store.by_binding_id(connection, binding.binding_id)
            if renewed is None:
                raise Failure("the renewed binding could not be read back")
            certificate = None
            if issue_certificate and self.krss.certificates is not None:
                certificate = self.krss.certificates.issue(connection, renewed, public_key, now)
        return renewed, certificate
