"""X-KISS: Locate and Validate key bindings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from passport.identity.clock import Clock
from passport.storage.database import Database
from passport.xkms import names
from passport.xkms.bindings import BindingStore, Query, StoredBinding
from passport.xkms.certificates import WANTS_CERTIFICATE, Certificates
from passport.xkms.errors import Failure
from passport.xkms.keys import (
    KeyInfoError,
    certificates_from_key_info,
    key_fingerprint,
    public_key_from_key_info,
)
from passport.xkms.messages import (
    Element,
    KeyBindingSpec,
    Request,
    append_all,
    child,
    new_result,
    parse_key_binding,
)
from passport.xkms.names import ds
from passport.xkms.results import key_binding_element, status_of


def binding_query(spec: KeyBindingSpec, *, include_revoked: bool) -> Query:
    """The store query a key binding in a request describes; Failure when it names nothing."""
    fingerprint = None
    if spec.key_info is not None and (
        spec.key_info.find(ds("KeyValue")) is not None
        or spec.key_info.find(ds("X509Data")) is not None
    ):
        try:
            fingerprint = key_fingerprint(public_key_from_key_info(spec.key_info))
        except KeyInfoError as exc:
            raise Failure(f"KeyInfo: {exc}") from None
    query = Query(
        key_fingerprint=fingerprint,
        key_name=spec.key_name,
        use_key_with=spec.use_key_with,
        key_usages=spec.key_usages,
        include_revoked=include_revoked,
    )
    if fingerprint is None and query.key_name is None and not query.use_key_with:
        raise Failure("the key binding names no key, KeyName or UseKeyWith")
    return query


@dataclass
class Kiss:
    """Locate and Validate over the binding store."""

    database: Database
    clock: Clock
    store: BindingStore
    certificates: Certificates | None = None

    def _x509(
        self, request: Request, found: list[StoredBinding]
    ) -> Callable[[StoredBinding], Element | None]:
        """Each binding's ds:X509Data as RespondWith asks (certificate, chain, CRL)."""
        certificates = self.certificates
        if certificates is None:
            return lambda _binding: None
        latest = {}
        if request.respond_with & WANTS_CERTIFICATE:
            latest = certificates.latest([b.id for b in found])
        crls = []
        if names.RESPOND_X509_CRL in request.respond_with:
            crls = certificates.crls(self.clock.now())
        return lambda binding: certificates.x509_data(
            request.respond_with, latest.get(binding.id), crls
        )

    def _matches(self, request: Request, *, include_revoked: bool) -> list[StoredBinding]:
        element = child(request.element, "QueryKeyBinding")
        if element is None:
            raise Failure(f"{request.kind} has no QueryKeyBinding")
        query = binding_query(parse_key_binding(element), include_revoked=include_revoked)
        with self.database.quick_read() as connection:  # one statement: one snapshot
            return self.store.find(connection, query)

    def locate(self, request: Request, service: str) -> Element:
        """LocateResult: the matching live bindings as UnverifiedKeyBinding."""
        found = [b for b in self._matches(request, include_revoked=False) if not b.owner_gone]
        result, shown = _limited(request, service, "LocateResult", found)
        x509_data = self._x509(request, shown)
        append_all(
            result,
            (
                key_binding_element(
                    b, request.respond_with, tag="UnverifiedKeyBinding", x509_data=x509_data(b)
                )
                for b in shown
            ),
        )
        return result

    def validate(self, request: Request, service: str) -> Element:
        """ValidateResult: every matching binding as KeyBinding with its Status."""
        element = child(request.element, "QueryKeyBinding")
        instant = self.clock.now()
        trusted = True
        if element is not None:
            spec = parse_key_binding(element)
            instant = spec.time_instant or instant
            trusted = self._issuer_trusted(spec, instant)
        found = self._matches(request, include_revoked=True)
        result, shown = _limited(request, service, "ValidateResult", found)
        x509_data = self._x509(request, shown)
        append_all(
            result,
            (
                key_binding_element(
                    b,
                    request.respond_with,
                    status=status_of(b, instant, issuer_trusted=trusted),
                    x509_data=x509_data(b),
                )
                for b in shown
            ),
        )
        return result

    def _issuer_trusted(self, spec: KeyBindingSpec, instant: datetime) -> bool:
        """A certificate chain given in the query must come from Passport's CA."""
        if spec.key_info is None or self.certificates is None:
            return True
        try:
            chain = certificates_from_key_info(spec.key_info)
        except KeyInfoError:
            return False
        if not chain:
            return True
        return self.certificates.chain_problem(chain, instant) is None


def _limited(
    request: Request, service: str, name: str, found: list[StoredBinding]
) -> tuple[Element, list[StoredBinding]]:
    if not found:
        return new_result(request, name, service, names.SUCCESS, names.NO_MATCH), []
    limit = request.response_limit
    if limit is not None and len(found) > limit:
        # Some of the matches: Success; none at all (ResponseLimit 0): Receiver.
        major = names.SUCCESS if limit > 0 else names.RECEIVER
        return (
            new_result(request, name, service, major, names.TOO_MANY_RESPONSES),
            found[:limit],
        )
    return new_result(request, name, service), found
