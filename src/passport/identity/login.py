"""Logging in: throttles claimed first, then one argon2id verification, then a session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update

from passport.identity.audit import Actor, AuditLog
from passport.identity.clock import Clock
from passport.identity.errors import IdentityError, Missing
from passport.identity.passwords import PasswordHashing, check_password_text
from passport.identity.sessions import NewSession, SessionService
from passport.identity.text import check_name
from passport.identity.throttle import (
    ThrottlePolicy,
    claim_account_try,
    claim_address_try,
    refund_address_try,
    settle_account_failure,
    settle_account_success,
)
from passport.identity.users import User, UserService, username_key
from passport.storage.database import Database
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import USERNAME_MAX, user_account


class LoginFailed(IdentityError):
    """Wrong username or password: one message for both, after the same work."""


class LoginThrottled(IdentityError):
    """Too many failed attempts for this account or from this address."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and password as received, checked for shape only."""

    username: str
    password: str

    @classmethod
    def check(cls, username: object, password: object) -> Credentials:
        """Refuse missing, empty, oversized or malformed credentials with a specific error."""
        if not isinstance(username, str) or not username.strip():
            raise Missing("Username must be specified.", field="username")
        if not isinstance(password, str) or password == "":
            raise Missing("Password must be specified.", field="password")
        # No account has a name this long or with such characters: say so, check nothing.
        checked = check_name(
            username, field="username", label="Username", max_length=USERNAME_MAX * 4
        )
        check_password_text(password)
        return cls(checked, password)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """The account a login names, as read before its password is checked."""

    id: int
    password_hash: str | None
    locked: bool


@dataclass(frozen=True, slots=True)
class _SessionFor:
    """A login's request for a session: the browser's (None) or an application's."""

    application_id: int | None


FAILED = "Username or password is incorrect."
THROTTLED = "Too many failed attempts; try again later."
# The account a login names: read in the claim transaction, before any hash is checked.
_CANDIDATE = PreparedStatement(
    select(user_account.c.id, user_account.c.password_hash, user_account.c.locked).where(
        user_account.c.username_key == bindparam("key")
    )
)


class LoginService:
    """Checks credentials under the brute-force guards and opens sessions."""

    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        audit: AuditLog,
        hashing: PasswordHashing,
        users: UserService,
        sessions: SessionService,
        policy: ThrottlePolicy,
    ) -> None:
        self.database = database
        self.clock = clock
        self.audit = audit
        self.hashing = hashing
        self.users = users
        self.sessions = sessions
        self.policy = policy

    def verify(self, credentials: Credentials, actor: Actor, *, action: str) -> User:
        """The user whose password this is; LoginFailed or LoginThrottled otherwise."""
        user, _ = self._check(credentials, actor, action=action, session=None)
        return user

    def login(
        self, credentials: Credentials, actor: Actor, *, application_id: int | None, action: str
    ) -> tuple[User, NewSession]:
        """Verify the credentials and open a session (for the browser or an application)."""
        user, new = self._check(
            credentials, actor, action=action, session=_SessionFor(application_id)
        )
        if new is None:  # pragma: no cover - _check opens one whenever it is asked to
            raise RuntimeError("login opened no session")
        return user, new

    def _check(
        self, credentials: Credentials, actor: Actor, *, action: str, session: _SessionFor | None
    ) -> tuple[User, NewSession | None]:
        # Claim the tries, verify the hash, then settle the tries and (for a login) open
        # the session in one transaction.
        now = self.clock.now()
        target = f"user:{credentials.username[:64]}"
        key = username_key(credentials.username)
        with self.database.write() as connection:
            address_ok = claim_address_try(connection, self.policy, actor.client_address, now)
            found = _CANDIDATE.rows(connection, {"key": key})
            row = _Candidate(*found[0]) if found else None
            account_ok = True
            if row is not None and address_ok:
                account_ok = claim_account_try(connection, self.policy, row.id, now)
        if not (address_ok and account_ok):
            reason = "address throttled" if not address_ok else "account locked out"
            self.audit.record(actor, action, target, success=False, detail=reason)
            raise LoginThrottled(THROTTLED, field="username", value=credentials.username)
        matches = self.hashing.verify(row.password_hash if row else None, credentials.password)
        if row is None or not matches or row.locked:
            with self.database.write() as connection:
                detail = "unknown user" if row is None else "wrong password"
                if row is not None:
                    if row.locked and matches:
                        detail = "user locked"
                    if settle_account_failure(connection, self.policy, row.id, now):
                        detail += "; account locked out"
                self.audit.record(
                    actor, action, target, success=False, detail=detail, connection=connection
                )
            raise LoginFailed(FAILED, field="username", value=credentials.username)
        # Rehashing (argon2 parameters changed) happens before the write lock is taken.
        rehashed = (
            self.hashing.hash(credentials.password)
            if row.password_hash is not None and self.hashing.needs_rehash(row.password_hash)
            else None
        )
        with self.database.write() as connection:
            user = self.users.find(credentials.username, connection)
            if user is None:  # deleted between the two transactions
                raise LoginFailed(FAILED, field="username", value=credentials.username)
            settle_account_success(connection, row.id, now)
            refund_address_try(connection, actor.client_address)
            if rehashed is not None:
                # Only over the hash just verified: a password changed meanwhile stays.
                connection.execute(
                    update(user_account)
                    .where(
                        user_account.c.id == row.id,
                        user_account.c.password_hash == row.password_hash,
                    )
                    .values(password_hash=rehashed)
                )
            opened = None
            if session is not None:
                opened = self._open(connection, user, actor, session.application_id, action)
        return user, opened

    def open_session(
        self, user: User, actor: Actor, *, application_id: int | None, action: str
    ) -> NewSession:
        """A new session for a user whose credentials were just verified."""
        with self.database.write() as connection:
            return self._open(connection, user, actor, application_id, action)

    def _open(
        self,
        connection: Connection,
        user: User,
        actor: Actor,
        application_id: int | None,
        action: str,
    ) -> NewSession:
        new = self.sessions.create(
            connection,
            user.id,
            user.username,
            application_id=application_id,
            client_address=actor.client_address,
        )
        self.audit.record(
            Actor(f"user:{user.username}", actor.client_address),
            action,
            f"user:{user.username}",
            success=True,
            detail="" if application_id is None else f"application {application_id}",
            connection=connection,
        )
        return new
