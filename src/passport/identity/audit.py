"""The append-only audit log: who did what to whom, from where, and whether it succeeded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select

from passport.identity.clock import Clock
from passport.storage.database import Database
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import audit_event

AUDIT_PAGE_MAX = 1000
_INSERT = PreparedStatement(
    insert(audit_event).values(
        {
            name: bindparam(name)
            for name in ("at", "actor", "action", "target", "client_address", "success", "detail")
        }
    )
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and from which address: `user:<name>`, `app:<name>`, `cli:<login>`..."""

    name: str
    client_address: str = ""

    @classmethod
    def anonymous(cls, client_address: str) -> Actor:
        """Someone not (yet) known."""
        return cls("anonymous", client_address)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    client_address: str
    success: bool
    detail: str


class AuditLog:
    """Writes and reads audit events. Writes join the caller's transaction when given one."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def record(
        self,
        actor: Actor,
        action: str,
        target: str,
        *,
        success: bool,
        detail: str = "",
        connection: Connection | None = None,
    ) -> None:
        """Append one event. Never pass a secret in `target` or `detail`."""
        values = {
            "at": self.clock.now(),
            "actor": actor.name[:160],
            "action": action[:64],
            "target": target[:255],
            "client_address": actor.client_address[:64],
            "success": success,
            "detail": detail[:255] or None,
        }
        if connection is not None:
            _INSERT.execute(connection, values)
            return
        with self.database.write() as own:
            _INSERT.execute(own, values)

    def events(self, *, since: datetime | None = None, limit: int = 100) -> list[AuditEvent]:
        """Events in time order, from `since` on, at most `limit` (capped at 1000)."""
        limit = max(1, min(limit, AUDIT_PAGE_MAX))
        query = select(audit_event).order_by(audit_event.c.at, audit_event.c.id).limit(limit)
        if since is not None:
            query = query.where(audit_event.c.at >= since)
        with self.database.read() as connection:
            return [
                AuditEvent(
                    id=row.id,
                    at=row.at,
                    actor=row.actor,
                    action=row.action,
                    target=row.target,
                    client_address=row.client_address,
                    success=bool(row.success),
                    detail=row.detail or "",
                )
                for row in connection.execute(query)
            ]
