"""Login sessions: server-side rows holding only a SHA-256 of a 256-bit random token.

A session ends at its absolute timeout, after its idle timeout, on logout, on a password
change and when its user is locked. Every node sees the same rows: no cache can let a
revoked session through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeGuard

from sqlalchemy import Connection, String, and_, bindparam, insert, select, update

from passport.identity.clock import Clock
from passport.identity.secrets import new_token, token_hash
from passport.storage.database import Database
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import login_session, user_account

# last_seen_at is written at most this often per session: reads stay reads.
TOUCH_INTERVAL = timedelta(seconds=60)
TOKEN_TEXT_MAX = 256


def usable_token(token: str | None) -> TypeGuard[str]:
    """Whether a token sent by a client can name a session at all (not empty, not huge)."""
    return bool(token) and len(token or "") <= TOKEN_TEXT_MAX


_COLUMNS = (
    "token_hash",
    "user_id",
    "application_id",
    "created_at",
    "last_seen_at",
    "expires_at",
    "client_address",
)
# The rows a token may name: its session, not revoked, of a user who is not locked. Every
# session lookup (here and in `checks`) uses exactly these; timeouts are checked in `live`.
TOKEN_HASH = bindparam("token_hash", type_=String())
LIVE_SESSION = (
    login_session.c.token_hash == TOKEN_HASH,
    login_session.c.revoked_at.is_(None),
    user_account.c.locked.is_(False),
)
_INSERT = PreparedStatement(
    insert(login_session)
    .values({name: bindparam(name) for name in _COLUMNS})
    .returning(login_session.c.id)
)


@dataclass(frozen=True, slots=True)
class Session:
    """A live session and whose it is."""

    id: int
    user_id: int
    username: str
    application_id: int | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session row (not revoked, its user not locked), before its timeouts are checked."""

    id: int
    user_id: int
    username: str
    application_id: int | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just created, with its token (given to the client, never stored)."""

    session: Session
    token: str


class SessionService:
    """Creates, validates and ends sessions."""

    def __init__(
        self, database: Database, clock: Clock, *, idle: timedelta, absolute: timedelta
    ) -> None:
        self.database = database
        self.clock = clock
        self.idle = idle
        self.absolute = absolute
        self._lookup = (
            select(
                login_session.c.id,
                login_session.c.user_id,
                login_session.c.application_id,
                login_session.c.created_at,
                login_session.c.last_seen_at,
                login_session.c.expires_at,
                user_account.c.username,
            )
            .join(user_account, user_account.c.id == login_session.c.user_id)
            .where(*LIVE_SESSION)
        )

    def create(
        self,
        connection: Connection,
        user_id: int,
        username: str,
        *,
        application_id: int | None,
        client_address: str,
    ) -> NewSession:
        """A new session in the caller's transaction."""
        token = new_token()
        now = self.clock.now()
        expires = now + self.absolute
        values = {
            "token_hash": token_hash(token),
            "user_id": user_id,
            "application_id": application_id,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": expires,
            "client_address": client_address[:64],
        }
        if connection.dialect.insert_returning:
            ((session_id,),) = _INSERT.rows(connection, values)
        else:  # pragma: no cover - MySQL proper has no INSERT ... RETURNING (MariaDB has)
            inserted = connection.execute(insert(login_session), values).inserted_primary_key
            (session_id,) = inserted or (0,)
        session = Session(
            int(session_id), user_id, username, application_id, min(expires, now + self.idle)
        )
        return NewSession(session, token)

    def validate(
        self,
        token: str | None,
        *,
        application_id: int | None = None,
        connection: Connection | None = None,
        defer: Callable[[Callable[[], None]], None] | None = None,
    ) -> Session | None:
        """The live session for a token (of this application, or the browser's), or None.

        At most once a minute a session's last-seen time is written: at once, or handed to
        `defer` to run after the caller's read (so a read can stay on the event loop).
        """
        if not usable_token(token):
            return None
        if connection is None:
            with self.database.read() as own:
                return self.validate(
                    token, application_id=application_id, connection=own, defer=defer
                )
        row = connection.execute(self._lookup, {"token_hash": token_hash(token)}).first()
        if row is None:
            return None
        stored = StoredSession(
            row.id,
            row.user_id,
            row.username,
            row.application_id,
            row.created_at,
            row.last_seen_at,
            row.expires_at,
        )
        return self.live(stored, application_id=application_id, defer=defer)

    def live(
        self,
        stored: StoredSession,
        *,
        application_id: int | None,
        defer: Callable[[Callable[[], None]], None] | None = None,
    ) -> Session | None:
        """The session a row describes if it is live and of this application, else None.

        Both timeouts are those of the current settings: a shorter absolute timeout also
        ends the sessions opened before it was set (their own expiry stays the limit when
        the setting grows).
        """
        if stored.application_id != application_id:
            return None
        now = self.clock.now()
        expires = min(stored.expires_at, stored.created_at + self.absolute)
        if now >= expires or now - stored.last_seen_at >= self.idle:
            return None
        if now - stored.last_seen_at >= TOUCH_INTERVAL:
            touch = partial(self._touch, stored.id, stored.last_seen_at, now)
            if defer is None:
                touch()
            else:
                defer(touch)
        return Session(
            stored.id,
            stored.user_id,
            stored.username,
            stored.application_id,
            min(expires, now + self.idle),
        )

    def _touch(self, session_id: int, seen: datetime, now: datetime) -> None:
        # Conditional on the value read, so concurrent touches write once.
        with self.database.write() as connection:
            connection.execute(
                update(login_session)
                .where(login_session.c.id == session_id, login_session.c.last_seen_at == seen)
                .values(last_seen_at=now)
            )

    def end(self, token: str | None, *, application_id: int | None = None) -> Session | None:
        """End the session a token names; returns it, or None when there was none live."""
        session = self.validate(token, application_id=application_id)
        if session is None or not self.end_by_id(session.id):
            return None
        return session

    def end_by_id(self, session_id: int) -> bool:
        """End a session; True when it was live until now."""
        with self.database.write() as connection:
            ended = connection.execute(
                update(login_session)
                .where(and_(login_session.c.id == session_id, login_session.c.revoked_at.is_(None)))
                .values(revoked_at=self.clock.now())
            ).rowcount
        return bool(ended == 1)
