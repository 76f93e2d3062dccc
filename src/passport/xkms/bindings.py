"""The key-binding store: public keys bound to Passport users, their usages and validity."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, Select, and_, bindparam, insert, select, update

from passport.storage.prepared import PreparedStatement
from passport.storage.tables import user_account, xkms_binding_use, xkms_key_binding
from passport.xkms.passcodes import UseKeyWith

# Usages are stored as one letter each, in a fixed order: S(ignature) E(ncryption) X(change).
_USAGE_CODES = {
    "http://www.w3.org/2002/03/xkms#Signature": "S",
    "http://www.w3.org/2002/03/xkms#Encryption": "E",
    "http://www.w3.org/2002/03/xkms#Exchange": "X",
}
_USAGE_URIS = {code: uri for uri, code in _USAGE_CODES.items()}
MAX_MATCHES = 1000


def encode_usages(usages: Sequence[str]) -> str:
    """Usage URIs as the stored letters (all three when none is named)."""
    codes = {_USAGE_CODES[u] for u in usages} if usages else set(_USAGE_URIS)
    return "".join(code for code in "SEX" if code in codes)


@dataclass(frozen=True, slots=True)
class StoredBinding:
    """A key binding as stored, with its owner's state."""

    id: int
    binding_id: str
    user_id: int | None
    username: str | None
    owner_locked: bool
    passcode_id: int | None
    key_fingerprint: str
    public_key_pem: str
    key_name: str | None
    key_usages: tuple[str, ...]
    not_before: datetime
    not_after: datetime | None
    revocation_code_identifier: bytes | None
    revoked_at: datetime | None
    created_at: datetime
    use_key_with: tuple[UseKeyWith, ...]
    private_key_escrow: str | None = None

    @property
    def owner_gone(self) -> bool:
        """The owner was deleted or is locked: the binding validates as Invalid."""
        return self.user_id is None or self.owner_locked

    def within(self, instant: datetime) -> bool:
        """Whether the instant lies inside the validity interval."""
        return self.not_before <= instant and (self.not_after is None or instant < self.not_after)


@dataclass(frozen=True, slots=True)
class NewBinding:
    """What Register stores."""

    binding_id: str
    user_id: int
    passcode_id: int | None
    key_fingerprint: str
    public_key_pem: str
    key_name: str | None
    key_usages: tuple[str, ...]
    not_before: datetime
    not_after: datetime | None
    revocation_code_identifier: bytes | None
    use_key_with: tuple[UseKeyWith, ...]
    private_key_escrow: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """What Locate and Validate search by; every given criterion must match."""

    key_fingerprint: str | None = None
    key_name: str | None = None
    use_key_with: tuple[UseKeyWith, ...] = ()
    key_usages: tuple[str, ...] = ()
    include_revoked: bool = False


_columns = (
    xkms_key_binding,
    user_account.c.username,
    user_account.c.locked,
)


@functools.lru_cache(maxsize=128)
def _find_statement(
    fingerprint: bool,
    key_name: bool,
    include_revoked: bool,
    usage_codes: tuple[str, ...],
    pairs: int,
) -> PreparedStatement:
    """The Locate/Validate query of one shape, built once (building it per request with
    SQLAlchemy had cost more than running it: 0.7-0.9 ms of CPU per Locate). A shape is
    which criteria are given, the KeyUsage codes and the number of UseKeyWith pairs; the
    cache keeps the 128 most recent, so odd requests cannot grow it. It runs on the
    driver's cursor (storage/prepared.py), which saves SQLAlchemy's execution per Locate.

    One statement: the matching bindings (at most `limit`, oldest first) joined with their
    UseKeyWith pairs, so it sees one snapshot without a transaction around two queries.
    """
    matching = select(xkms_key_binding.c.id).order_by(xkms_key_binding.c.id)
    if fingerprint:
        matching = matching.where(xkms_key_binding.c.key_fingerprint == bindparam("fingerprint"))
    if key_name:
        matching = matching.where(xkms_key_binding.c.key_name == bindparam("key_name"))
    if not include_revoked:
        matching = matching.where(xkms_key_binding.c.revoked_at.is_(None))
    for code in usage_codes:
        matching = matching.where(xkms_key_binding.c.key_usages.contains(code))
    for number in range(pairs):
        matching = matching.where(
            xkms_key_binding.c.id.in_(
                select(xkms_binding_use.c.binding_id).where(
                    and_(
                        xkms_binding_use.c.application == bindparam(f"application_{number}"),
                        xkms_binding_use.c.identifier == bindparam(f"identifier_{number}"),
                    )
                )
            )
        )
    return PreparedStatement(_with_uses(matching.limit(bindparam("limit", type_=Integer()))))


def _with_uses(matching: Select[Any]) -> Select[Any]:
    """The bindings whose row ids `matching` selects, each joined with its UseKeyWith pairs
    (one row per pair, or one without), oldest first: one statement, one snapshot."""
    chosen = matching.subquery("chosen")
    return (
        select(
            *_columns,
            xkms_binding_use.c.application.label("use_application"),
            xkms_binding_use.c.identifier.label("use_identifier"),
        )
        .select_from(xkms_key_binding)
        .join(chosen, chosen.c.id == xkms_key_binding.c.id)
        .outerjoin(user_account, user_account.c.id == xkms_key_binding.c.user_id)
        .outerjoin(xkms_binding_use, xkms_binding_use.c.binding_id == xkms_key_binding.c.id)
        .order_by(xkms_key_binding.c.id, xkms_binding_use.c.id)
    )


class _BindingRow(NamedTuple):
    """A row of a `_with_uses` statement: a binding, its owner, one UseKeyWith pair."""

    id: int
    binding_id: str
    user_id: int | None
    passcode_id: int | None
    key_fingerprint: str
    public_key: str
    key_name: str | None
    key_usages: str
    not_before: datetime
    not_after: datetime | None
    revocation_code_identifier: str | None
    revoked_at: datetime | None
    created_at: datetime
    private_key_escrow: str | None
    username: str | None
    locked: bool | None
    use_application: str | None
    use_identifier: str | None


_SELECTED = tuple(
    column.name for column in _with_uses(select(xkms_key_binding.c.id)).selected_columns
)
if _BindingRow._fields != _SELECTED:  # pragma: no cover - a table changed without this class
    raise RuntimeError(f"_BindingRow does not match the binding statement's columns {_SELECTED}")

_BY_BINDING_ID = PreparedStatement(
    _with_uses(
        select(xkms_key_binding.c.id).where(
            xkms_key_binding.c.binding_id == bindparam("binding_id")
        )
    )
)
_ALL = PreparedStatement(_with_uses(select(xkms_key_binding.c.id)))
_OF_USER = PreparedStatement(
    _with_uses(
        select(xkms_key_binding.c.id).where(xkms_key_binding.c.user_id == bindparam("user_id"))
    )
)


class BindingStore:
    """SQL for key bindings; every method runs in the caller's connection."""

    def insert(self, connection: Connection, new: NewBinding, now: datetime) -> int:
        """Store a binding and its UseKeyWith pairs; returns its row id."""
        code_id = new.revocation_code_identifier
        result = connection.execute(
            insert(xkms_key_binding).values(
                binding_id=new.binding_id,
                user_id=new.user_id,
                passcode_id=new.passcode_id,
                key_fingerprint=new.key_fingerprint,
                public_key=new.public_key_pem,
                key_name=new.key_name,
                key_usages=encode_usages(new.key_usages),
                not_before=new.not_before,
                not_after=new.not_after,
                revocation_code_identifier=None
                if code_id is None
                else base64.b64encode(code_id).decode("ascii"),
                created_at=now,
                private_key_escrow=new.private_key_escrow,
            )
        )
        (row_id,) = result.inserted_primary_key or (0,)
        if new.use_key_with:
            connection.execute(
                insert(xkms_binding_use),
                [
                    {"binding_id": row_id, "application": p.application, "identifier": p.identifier}
                    for p in new.use_key_with
                ],
            )
        return int(row_id)

    def find(
        self, connection: Connection, query: Query, *, limit: int = MAX_MATCHES
    ) -> list[StoredBinding]:
        """Bindings matching every criterion, oldest first, at most `limit`."""
        codes = tuple(
            sorted({code for usage in query.key_usages if (code := _USAGE_CODES.get(usage))})
        )
        statement = _find_statement(
            query.key_fingerprint is not None,
            query.key_name is not None,
            query.include_revoked,
            codes,
            len(query.use_key_with),
        )
        parameters: dict[str, Any] = {
            "fingerprint": query.key_fingerprint,
            "key_name": query.key_name,
            "limit": limit,
        }
        for number, pair in enumerate(query.use_key_with):
            parameters[f"application_{number}"] = pair.application
            parameters[f"identifier_{number}"] = pair.identifier
        return _grouped(statement.rows(connection, parameters))

    def by_binding_id(self, connection: Connection, binding_id: str) -> StoredBinding | None:
        """The binding with this KeyBinding Id, or None."""
        found = _grouped(_BY_BINDING_ID.rows(connection, {"binding_id": binding_id}))
        return found[0] if found else None

    def for_user(self, connection: Connection, user_id: int | None) -> list[StoredBinding]:
        """Every binding (revoked too) of one user, or of everyone when None."""
        if user_id is None:
            return _grouped(_ALL.rows(connection, {}))
        return _grouped(_OF_USER.rows(connection, {"user_id": user_id}))

    def revoke(self, connection: Connection, row_id: int, now: datetime) -> bool:
        """Revoke a binding, atomically: of two concurrent revokes exactly one returns True."""
        revoked = connection.execute(
            update(xkms_key_binding)
            .where(xkms_key_binding.c.id == row_id, xkms_key_binding.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        return bool(revoked == 1)

    def renew(
        self, connection: Connection, row_id: int, not_before: datetime, not_after: datetime
    ) -> bool:
        """Give a live binding a new validity interval; False when it was revoked meanwhile."""
        renewed = connection.execute(
            update(xkms_key_binding)
            .where(xkms_key_binding.c.id == row_id, xkms_key_binding.c.revoked_at.is_(None))
            .values(not_before=not_before, not_after=not_after)
        ).rowcount
        return bool(renewed == 1)


def _grouped(rows: Iterable[tuple[Any, ...]]) -> list[StoredBinding]:
    """Bindings from the rows of a `_with_uses` statement, their pairs gathered in order."""
    found: dict[int, tuple[_BindingRow, list[UseKeyWith]]] = {}
    for values in rows:
        row = _BindingRow._make(values)
        _, uses = found.setdefault(row.id, (row, []))
        if row.use_application is not None and row.use_identifier is not None:
            uses.append(UseKeyWith(row.use_application, row.use_identifier))
    return [_stored(row, tuple(uses)) for row, uses in found.values()]


def _stored(r: _BindingRow, uses: tuple[UseKeyWith, ...]) -> StoredBinding:
    code = r.revocation_code_identifier
    return StoredBinding(
        id=r.id,
        binding_id=r.binding_id,
        user_id=r.user_id,
        username=r.username,
        owner_locked=bool(r.locked),
        passcode_id=r.passcode_id,
        key_fingerprint=r.key_fingerprint,
        public_key_pem=r.public_key,
        key_name=r.key_name,
        key_usages=tuple(_USAGE_URIS[c] for c in r.key_usages),
        not_before=r.not_before,
        not_after=r.not_after,
        revocation_code_identifier=None if code is None else base64.b64decode(code),
        revoked_at=r.revoked_at,
        created_at=r.created_at,
        use_key_with=uses,
        private_key_escrow=r.private_key_escrow,
    )
