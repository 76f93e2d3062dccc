"""A session check in one statement: the session, its user's memberships and, when an
application asks, that application's credentials.

whoAmI and Session/validate need all of these on every request. As separate reads they
cost a statement each, and on PostgreSQL or MariaDB a network round trip each; as one
UNION they cost one. One statement also sees one snapshot on every backend.

Rows, by `kind`: -2 the application (first: its secret hash, second: its name, id: its
ID), -1 the session (first: the username, then the session's own columns), then the
memberships (0 groups, 1 permissions) of the user the token names, as `memberships` reads
them. Membership rows of a token that names no live session are read and dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union,
)

from passport.identity.applications import (
    Application,
    StoredCredentials,
    application_number,
    credentials_match,
)
from passport.identity.groups import Memberships, add_membership, membership_selects
from passport.identity.secrets import token_hash
from passport.identity.sessions import (
    LIVE_SESSION,
    TOKEN_HASH,
    Session,
    SessionService,
    StoredSession,
    usable_token,
)
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import application_info, login_session, user_account

_NO_TEXT = cast(null(), String())
_NO_NUMBER = cast(null(), Integer())
_NO_TIME = cast(null(), DateTime())
# The columns a membership row leaves empty: id, user_id, application_id, created_at,
# last_seen_at, expires_at.
_NO_SESSION = (_NO_NUMBER, _NO_NUMBER, _NO_NUMBER, _NO_TIME, _NO_TIME, _NO_TIME)

_TOKEN_USER = (
    select(login_session.c.user_id)
    .where(login_session.c.token_hash == TOKEN_HASH)
    .scalar_subquery()
)
_SESSION = (
    select(
        literal_column("-1").label("kind"),
        user_account.c.username.label("first"),
        _NO_TEXT.label("second"),
        _NO_TEXT.label("application"),
        login_session.c.id.label("id"),
        login_session.c.user_id.label("user_id"),
        login_session.c.application_id.label("application_id"),
        login_session.c.created_at.label("created_at"),
        login_session.c.last_seen_at.label("last_seen_at"),
        login_session.c.expires_at.label("expires_at"),
    )
    .join(user_account, user_account.c.id == login_session.c.user_id)
    .where(*LIVE_SESSION)
)
_APPLICATION = select(
    literal_column("-2").label("kind"),
    application_info.c.secret_hash.label("first"),
    application_info.c.name.label("second"),
    _NO_TEXT.label("application"),
    application_info.c.applicationid.label("id"),
    _NO_NUMBER.label("user_id"),
    _NO_NUMBER.label("application_id"),
    _NO_TIME.label("created_at"),
    _NO_TIME.label("last_seen_at"),
    _NO_TIME.label("expires_at"),
).where(application_info.c.applicationid == bindparam("application_id"))


def _statement(*first: Select[Any]) -> CompoundSelect[Any]:
    groups, permissions = membership_selects(_TOKEN_USER)
    return union(
        *first, groups.add_columns(*_NO_SESSION), permissions.add_columns(*_NO_SESSION)
    ).order_by("kind", "first", "second")


_BROWSER_CHECK = PreparedStatement(_statement(_SESSION))
_APPLICATION_CHECK = PreparedStatement(_statement(_APPLICATION, _SESSION))


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """What one check found: the live session (or None), its user's memberships, and the
    application whose credentials were checked (None when they were wrong or not asked)."""

    session: Session | None
    memberships: Memberships = field(default_factory=lambda: Memberships([], {}))
    application: Application | None = None


class SessionChecker:
    """Runs session checks as one statement."""

    def __init__(self, sessions: SessionService) -> None:
        self.sessions = sessions

    def browser(
        self,
        connection: Connection,
        token: str,
        *,
        defer: Callable[[Callable[[], None]], None] | None = None,
    ) -> SessionCheck:
        """The browser session a cookie token names, with its user's memberships."""
        if not usable_token(token):
            return SessionCheck(None)
        rows = _BROWSER_CHECK.rows(connection, {"token_hash": token_hash(token)})
        return self._found(rows, None, application_id=None, defer=defer)

    def application(
        self,
        connection: Connection,
        credentials: tuple[str, str],
        token: str | None,
        *,
        defer: Callable[[Callable[[], None]], None] | None = None,
    ) -> SessionCheck:
        """The calling application (by HTTP Basic credentials) and its session a token
        names, with the user's memberships. The statement reads all of them every time; the
        session counts only when the credentials are right."""
        application_id, secret = credentials
        number = application_number(application_id)
        rows = _APPLICATION_CHECK.rows(
            connection,
            {
                # No row has ID -1 or this hash: the credentials are still compared (against
                # a dummy), so a bad ID or token takes the same path as a good one.
                "application_id": -1 if number is None else number,
                "token_hash": token_hash(token if usable_token(token) else ""),
            },
        )
        stored: StoredCredentials | None = None
        remaining = []
        for row in rows:
            # Rows unpacked by position: attribute access by name costs more than the rest.
            if row[0] == -2:
                stored = StoredCredentials(row[4], row[2], row[1])
            else:
                remaining.append(row)
        application = credentials_match(stored, secret)
        if application is None:
            return SessionCheck(None)
        if not usable_token(token):
            return SessionCheck(None, application=application)
        return self._found(remaining, application, application_id=application.id, defer=defer)

    def _found(
        self,
        rows: Any,
        application: Application | None,
        *,
        application_id: int | None,
        defer: Callable[[Callable[[], None]], None] | None,
    ) -> SessionCheck:
        session: Session | None = None
        held = Memberships([], {})
        for (
            kind,
            first,
            second,
            application_name,
            row_id,
            user_id,
            app_id,
            created,
            last_seen,
            expires,
        ) in rows:
            if kind == -1:
                stored = StoredSession(row_id, user_id, first, app_id, created, last_seen, expires)
                session = self.sessions.live(stored, application_id=application_id, defer=defer)
                if session is None:
                    break
            else:
                add_membership(held, kind, first, second, application_name)
        if session is None:
            return SessionCheck(None, application=application)
        return SessionCheck(session, held, application)
