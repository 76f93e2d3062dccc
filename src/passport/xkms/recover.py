"""X-KRSS Recover: the escrowed private key of a server-generated binding, to its owner."""

from __future__ import annotations

from dataclasses import dataclass

from passport.identity.audit import Actor
from passport.xkms.bindings import StoredBinding
from passport.xkms.errors import Failure, NoAuthentication, NoMatch, Refused, XkmsError
from passport.xkms.kiss import binding_query
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
from passport.xkms.private_keys import open_private_key, private_key_element
from passport.xkms.results import key_binding_element, status_of


@dataclass
class Recover:
    """Recover, authenticated by a passcode of the owner covering the binding's UseKeyWith
    values. The recovered binding is revoked in the same transaction (a setting may keep
    it), so of two concurrent recoveries exactly one succeeds."""

    krss: Krss

    def recover(self, request: Request, service: str, client_address: str) -> Element:
        """RecoverResult with the binding and its PrivateKey; XkmsError (audited) otherwise."""
        target = "key:unknown"
        try:
            spec = self._binding(request)
            binding = self._escrowed_binding(spec)
            target = f"key:{binding.key_fingerprint[:16]}"
            passcode = self.krss.authenticate_owner(request, spec, binding)
            recovered, revoked = self._take(binding, passcode)
        except XkmsError as error:
            self.krss.audit_refusal(client_address, "xkms.recover", target, error)
            raise
        self.krss.audit.record(
            Actor(f"user:{recovered.username or 'deleted'}", client_address),
            "xkms.recover",
            f"{target} binding:{recovered.binding_id}",
            success=True,
            detail="binding revoked" if revoked else "binding kept valid (xkms_keep_recovered)",
        )
        private_key = open_private_key(self.krss.passcodes.vault, binding.private_key_escrow or "")
        result = new_result(request, "RecoverResult", service)
        result.append(
            key_binding_element(
                recovered, request.respond_with, status=status_of(recovered, self.krss.clock.now())
            )
        )
        result.append(
            private_key_element(
                private_key, passcode.cipher_key, self.krss.policy.private_key_cipher
            )
        )
        return result

    def _binding(self, request: Request) -> KeyBindingSpec:
        element = child(request.element, "RecoverKeyBinding")
        if element is None:
            raise Failure("RecoverRequest has no RecoverKeyBinding")
        spec = parse_key_binding(element)
        if not spec.id:
            raise Failure("RecoverKeyBinding has no Id for the signature to reference")
        return spec

    def _escrowed_binding(self, spec: KeyBindingSpec) -> StoredBinding:
        with self.krss.database.read(snapshot=True) as connection:
            found = self.krss.store.find(connection, binding_query(spec, include_revoked=True))
        if not found:
            raise NoMatch("no key binding matches")
        live = [b for b in found if b.revoked_at is None]
        if not live:
            raise Refused("the key binding is revoked")
        escrowed = [b for b in live if b.private_key_escrow]
        if not escrowed:
            raise Refused("no escrowed private key: only keys Passport generated can be recovered")
        return escrowed[0]

    def _take(self, binding: StoredBinding, passcode: Passcode) -> tuple[StoredBinding, bool]:
        revoke = not self.krss.policy.keep_recovered
        with self.krss.database.write() as connection:
            if not self.krss.passcodes.consume(connection, passcode.id):
                raise NoAuthentication("passcode used up")
            if revoke and not self.krss.store.revoke(connection, binding.id, self.krss.clock.now()):
                # As a Recover of a revoked binding is answered, whatever the timing.
                raise Refused("the key binding was recovered or revoked meanwhile")
            recovered = self.krss.store.by_binding_id(connection, binding.binding_id)
        if recovered is None:
            raise Failure("the recovered binding could not be read back")
        return recovered, revoke
