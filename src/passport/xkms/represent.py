"""The two-phase request protocol: a Represent result with a Nonce, then the request again.

The service issues a random nonce bound to the phase-one request's Id and operation; the
phase-two request must carry it with OriginalRequestId = that Id, before it expires, and
only once (one conditional UPDATE claims it).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, update

from passport.identity.clock import Clock
from passport.storage.database import Database
from passport.storage.tables import xkms_nonce
from passport.xkms import names
from passport.xkms.errors import NoAuthentication, XkmsError
from passport.xkms.messages import Element, Request, new_result

NONCE_BYTES = 24


class RepresentRequired(XkmsError):
    """The operation needs the two-phase protocol and the request did not offer it."""

    minor = names.REPRESENT_REQUIRED


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("ascii", "replace")).hexdigest()


@dataclass
class TwoPhase:
    """Issues and redeems two-phase nonces for the operations that require them."""

    database: Database
    clock: Clock
    operations: frozenset[str]
    lifetime: timedelta

    def required(self, request: Request) -> bool:
        """Whether this request's operation needs the two-phase protocol."""
        return request.kind.removesuffix("Request") in self.operations

    def phase_one(self, request: Request, result_name: str, service: str) -> Element | None:
        """A Represent result when the request carries no nonce (None: go on, it has one).

        RepresentRequired when the request did not offer #Represent."""
        if request.nonce is not None:
            self._redeem(request)
            return None
        if names.MECHANISM_REPRESENT not in request.response_mechanisms:
            raise RepresentRequired(f"{request.kind} needs the two-phase protocol")
        nonce = base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode("ascii")
        with self.database.write() as connection:
            connection.execute(
                insert(xkms_nonce).values(
                    nonce_hash=_hash(nonce),
                    request_id=request.id[:255],
                    operation=request.kind[:32],
                    expires_at=self.clock.now() + self.lifetime,
                )
            )
        result = new_result(request, result_name, service, names.REPRESENT)
        result.set("Nonce", nonce)
        return result

    def _redeem(self, request: Request) -> None:
        nonce = request.nonce or ""
        with self.database.write() as connection:
            claimed = connection.execute(
                update(xkms_nonce)
                .where(
                    xkms_nonce.c.nonce_hash == _hash(nonce),
                    xkms_nonce.c.request_id == (request.original_request_id or ""),
                    xkms_nonce.c.operation == request.kind,
                    xkms_nonce.c.used_at.is_(None),
                    xkms_nonce.c.expires_at > self.clock.now(),
                )
                .values(used_at=self.clock.now())
            ).rowcount
        if claimed != 1:
            raise NoAuthentication(
                "the Nonce is unknown, expired, already used, or not this request's"
            )
