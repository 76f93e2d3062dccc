"""Limited-use passcodes that authorize a user's XKMS requests for given UseKeyWith pairs.

The passcode itself is never stored: only its 0x01 (authentication) and 0x04 (private-key
cipher) derivations, sealed with the home's data key, so a database dump alone can neither
read a passcode back nor forge a request.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, or_, select, tuple_, update

from passport.identity.audit import Actor, AuditLog
from passport.identity.clock import Clock
from passport.identity.errors import InvalidValue
from passport.identity.users import User
from passport.storage.database import Database
from passport.storage.tables import (
    USE_KEY_WITH_APPLICATION_MAX,
    USE_KEY_WITH_IDENTIFIER_MAX,
    xkms_passcode,
    xkms_passcode_use,
)
from passport.xkms.secrets import authentication_key, private_key_cipher_key, saslprep
from passport.xkms.vault import Vault

# Readable, unambiguous: no 0/O, 1/I/L. 20 characters carry 100 bits.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_GROUPS, _GROUP_LENGTH = 4, 5
CIPHER_KEY_BYTES = 32  # derive() is prefix-stable: 24 for 3DES and 16 for AES-128 are prefixes
MAX_CANDIDATES = 200
PASSCODE_MIN = 6
PASSCODE_MAX = 128

AUTH_PURPOSE = "xkms-passcode-authentication-key"
CIPHER_PURPOSE = "xkms-passcode-cipher-key"


@dataclass(frozen=True, slots=True)
class UseKeyWith:
    """An application URI and an identifier within it (e.g. urn:ietf:rfc:2633, an e-mail)."""

    application: str
    identifier: str

    @classmethod
    def parse(cls, text: str) -> UseKeyWith:
        """`URI=IDENTIFIER`, split at the first `=` (identifiers such as DNs contain `=`)."""
        application, separator, identifier = text.partition("=")
        if not separator or not application.strip() or not identifier:
            raise InvalidValue(
                f"UseKeyWith {text!r} must be URI=IDENTIFIER.", field="use-key-with", value=text
            )
        return cls.checked(application.strip(), identifier)

    @classmethod
    def checked(cls, application: str, identifier: str) -> UseKeyWith:
        """A pair within the stored lengths; InvalidValue otherwise."""
        if not application or len(application) > USE_KEY_WITH_APPLICATION_MAX:
            raise InvalidValue("UseKeyWith application is empty or too long.", field="use-key-with")
        if not identifier or len(identifier) > USE_KEY_WITH_IDENTIFIER_MAX:
            raise InvalidValue("UseKeyWith identifier is empty or too long.", field="use-key-with")
        return cls(application, identifier)

    def __str__(self) -> str:
        return f"{self.application}={self.identifier}"


@dataclass(frozen=True, slots=True)
class Passcode:
    """A stored passcode, its derived keys opened, and what it allows."""

    id: int
    user_id: int
    authentication_key: bytes
    cipher_key: bytes
    uses_left: int
    expires_at: datetime | None
    allowed: frozenset[UseKeyWith]

    def usable(self, now: datetime) -> str | None:
        """None when it can still be used; otherwise why not."""
        if self.uses_left <= 0:
            return "passcode used up"
        if self.expires_at is not None and self.expires_at <= now:
            return "passcode expired"
        return None


def generate_passcode() -> str:
    """A new random passcode such as `K7QM2-9XTRP-...`."""
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return "-".join(groups)


class PasscodeService:
    """Issues passcodes and finds the ones that may authenticate a request."""

    def __init__(self, database: Database, clock: Clock, audit: AuditLog, vault: Vault) -> None:
        self.database = database
        self.clock = clock
        self.audit = audit
        self.vault = vault

    def authorize(
        self,
        user: User,
        allowed: Sequence[UseKeyWith],
        actor: Actor,
        *,
        passcode: str | None = None,
        uses: int = 1,
        expires_in: timedelta | None = None,
    ) -> tuple[str, datetime | None]:
        """Store a passcode for the user and these pairs; returns it (shown once) and expiry."""
        if not allowed:
            raise InvalidValue("Give at least one UseKeyWith URI=IDENTIFIER.", field="use-key-with")
        if uses < 1:
            raise InvalidValue("Uses must be at least 1.", field="uses", value=str(uses))
        if passcode is None:
            passcode = generate_passcode()
        elif not PASSCODE_MIN <= len(passcode) <= PASSCODE_MAX:
            raise InvalidValue(
                f"Passcode must be {PASSCODE_MIN} to {PASSCODE_MAX} characters.", field="passcode"
            )
        try:
            saslprep(passcode)
        except ValueError as exc:
            raise InvalidValue(f"Passcode is not usable: {exc}", field="passcode") from None
        now = self.clock.now()
        expires = now + expires_in if expires_in is not None else None
        pairs = sorted(set(allowed), key=str)
        with self.database.write() as connection:
            result = connection.execute(
                insert(xkms_passcode).values(
                    user_id=user.id,
                    authentication_key=self.vault.seal(authentication_key(passcode), AUTH_PURPOSE),
                    cipher_key=self.vault.seal(
                        private_key_cipher_key(passcode, CIPHER_KEY_BYTES), CIPHER_PURPOSE
                    ),
                    uses_total=uses,
                    uses_left=uses,
                    expires_at=expires,
                    created_at=now,
                    created_by=actor.name[:160],
                )
            )
            (passcode_id,) = result.inserted_primary_key or (0,)
            connection.execute(
                insert(xkms_passcode_use),
                [
                    {
                        "passcode_id": passcode_id,
                        "application": p.application,
                        "identifier": p.identifier,
                    }
                    for p in pairs
                ],
            )
            self.audit.record(
                actor,
                "xkms.authorize",
                f"user:{user.username}",
                success=True,
                detail=f"uses {uses}; " + "; ".join(str(p) for p in pairs),
                connection=connection,
            )
        return passcode, expires

    def candidates(self, connection: Connection, pairs: Sequence[UseKeyWith]) -> list[Passcode]:
        """Passcodes that may have made a request binding these pairs, newest first.

        Those allowing any of the pairs; when none does, the newest usable ones, so that a
        request for pairs its passcode does not allow is still recognised (and refused).
        """
        query = select(xkms_passcode.c.id).order_by(xkms_passcode.c.id.desc()).limit(MAX_CANDIDATES)
        matching = []
        if pairs:
            matching = [
                row.id
                for row in connection.execute(
                    query.join(
                        xkms_passcode_use, xkms_passcode_use.c.passcode_id == xkms_passcode.c.id
                    )
                    .where(
                        tuple_(xkms_passcode_use.c.application, xkms_passcode_use.c.identifier).in_(
                            [(p.application, p.identifier) for p in pairs]
                        )
                    )
                    .distinct()
                )
            ]
        if not matching:
            now = self.clock.now()
            matching = [
                row.id
                for row in connection.execute(
                    query.where(
                        xkms_passcode.c.uses_left > 0,
                        or_(xkms_passcode.c.expires_at.is_(None), xkms_passcode.c.expires_at > now),
                    )
                )
            ]
        return self._load(connection, matching)

    def for_user(self, connection: Connection, user_id: int) -> list[Passcode]:
        """A user's passcodes, newest first (Revoke and Reissue authenticate with these)."""
        ids = [
            row.id
            for row in connection.execute(
                select(xkms_passcode.c.id)
                .where(xkms_passcode.c.user_id == user_id)
                .order_by(xkms_passcode.c.id.desc())
                .limit(MAX_CANDIDATES)
            )
        ]
        return self._load(connection, ids)

    def _load(self, connection: Connection, ids: list[int]) -> list[Passcode]:
        if not ids:
            return []
        allowed: dict[int, set[UseKeyWith]] = {}
        for row in connection.execute(
            select(xkms_passcode_use).where(xkms_passcode_use.c.passcode_id.in_(ids))
        ):
            allowed.setdefault(row.passcode_id, set()).add(
                UseKeyWith(row.application, row.identifier)
            )
        rows = connection.execute(
            select(xkms_passcode)
            .where(xkms_passcode.c.id.in_(ids))
            .order_by(xkms_passcode.c.id.desc())
        )
        return [
            Passcode(
                id=row.id,
                user_id=row.user_id,
                authentication_key=self.vault.open(row.authentication_key, AUTH_PURPOSE),
                cipher_key=self.vault.open(row.cipher_key, CIPHER_PURPOSE),
                uses_left=row.uses_left,
                expires_at=row.expires_at,
                allowed=frozenset(allowed.get(row.id, ())),
            )
            for row in rows
        ]

    def consume(self, connection: Connection, passcode_id: int) -> bool:
        """Use one of the passcode's uses, atomically; False when none is left or it expired."""
        now = self.clock.now()
        used = connection.execute(
            update(xkms_passcode)
            .where(
                xkms_passcode.c.id == passcode_id,
                xkms_passcode.c.uses_left > 0,
                or_(xkms_passcode.c.expires_at.is_(None), xkms_passcode.c.expires_at > now),
            )
            .values(uses_left=xkms_passcode.c.uses_left - 1)
        ).rowcount
        return bool(used == 1)
