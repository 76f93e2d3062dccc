"""Users: accounts with a unique normalised username, an argon2id hash and a locked flag."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from passport.identity.audit import Actor, AuditLog
from passport.identity.clock import Clock
from passport.identity.errors import Conflict, InvalidValue, Missing, NotFound
from passport.identity.passwords import PasswordHashing, check_new_password
from passport.identity.secrets import new_token, token_hash
from passport.identity.text import check_name
from passport.storage.database import Database
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    USERNAME_MAX,
    login_session,
    password_reset,
    user_account,
)

USER_PAGE_MAX = 500
RESET_TOKEN_LIFETIME = timedelta(hours=1)
_USERNAME = re.compile(r"[\w.@+-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class User:
    """A user as the rest of Passport sees it (never the password hash)."""

    id: int
    username: str
    email: str | None
    display_name: str | None
    locked: bool
    created_at: datetime
    last_login_at: datetime | None

    def as_wire(self) -> dict[str, object]:
        """The user as the API shows it."""
        return {
            "ID": self.id,
            "Name": self.username,
            "Email": self.email,
            "DisplayName": self.display_name,
            "Locked": self.locked,
            "CreatedAt": _iso(self.created_at),
            "LastLoginAt": _iso(self.last_login_at),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def username_key(username: str) -> str:
    """The form usernames are unique in: NFKC, then casefold."""
    return unicodedata.normalize("NFKC", username).casefold()


def check_username(username: str | None, *, field: str = "username") -> str:
    """A username, checked: 1 to 64 characters of letters, digits and `. @ + - _`."""
    checked = check_name(username or "", field=field, label="Username", max_length=USERNAME_MAX)
    if not _USERNAME.fullmatch(checked):
        raise InvalidValue(
            "Username may hold only letters, digits and . @ + - _", field=field, value=checked
        )
    return checked


def check_email(email: str | None) -> str | None:
    """An e-mail address, roughly checked, or None."""
    if email is None or not email.strip():
        return None
    email = email.strip()
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        raise InvalidValue("E-mail address is not valid.", field="email", value=email)
    return email


def _user(values: Sequence[Any]) -> User:
    # A row of _USER_COLUMNS (a SQLAlchemy row or a PreparedStatement's tuple), in order.
    user_id, name, email, display_name, locked, created_at, last_login_at = values
    return User(user_id, name, email, display_name, bool(locked), created_at, last_login_at)


_USER_COLUMNS = (
    user_account.c.id,
    user_account.c.username,
    user_account.c.email,
    user_account.c.display_name,
    user_account.c.locked,
    user_account.c.created_at,
    user_account.c.last_login_at,
)
_BY_KEY = PreparedStatement(
    select(*_USER_COLUMNS).where(user_account.c.username_key == bindparam("key"))
)


class UserService:
    """Creates, finds, locks and re-passwords users; every change is audited."""

    def __init__(
        self, database: Database, clock: Clock, audit: AuditLog, hashing: PasswordHashing
    ) -> None:
        self.database = database
        self.clock = clock
        self.audit = audit
        self.hashing = hashing

    def create(
        self,
        username: str | None,
        password: str | None,
        actor: Actor,
        *,
        email: str | None = None,
        display_name: str | None = None,
    ) -> User:
        """A new user; Conflict when the (normalised) username is taken."""
        username = check_username(username)
        email = check_email(email)
        if display_name is not None:
            display_name = check_name(
                display_name, field="displayName", label="Display name", max_length=DISPLAY_NAME_MAX
            )
        password_hash = None
        if password is not None:
            check_new_password(password)
            password_hash = self.hashing.hash(password)
        now = self.clock.now()
        try:
            with self.database.write() as connection:
                result = connection.execute(
                    insert(user_account).values(
                        username=username,
                        username_key=username_key(username),
                        email=email,
                        display_name=display_name,
                        password_hash=password_hash,
                        locked=False,
                        failed_logins=0,
                        lockouts=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
                (user_id,) = result.inserted_primary_key or (0,)
                self.audit.record(
                    actor, "user.create", f"user:{username}", success=True, connection=connection
                )
        except IntegrityError:
            self.audit.record(
                actor, "user.create", f"user:{username}", success=False, detail="username taken"
            )
            raise Conflict(
                f"A user named '{username}' already exists.", field="username", value=username
            ) from None
        return User(int(user_id), username, email, display_name, False, now, None)

    def find(self, username: str, connection: Connection | None = None) -> User | None:
        """The user with this username (compared in normalised form), or None."""
        if connection is None:
            with self.database.read() as own:
                return self.find(username, own)
        found = _BY_KEY.rows(connection, {"key": username_key(username)})
        return _user(found[0]) if found else None

    def get(self, username: str | None, *, field: str = "username") -> User:
        """The user with this username; NotFound otherwise."""
        checked = check_username(username, field=field)
        user = self.find(checked)
        if user is None:
            raise NotFound(f"Could not find user '{checked}'.", field=field, value=checked)
        return user

    def page(self, *, offset: int = 0, limit: int = 50) -> tuple[list[User], int]:
        """Users ordered by ID, one page, and the total count."""
        limit = max(1, min(limit, USER_PAGE_MAX))
        offset = max(0, offset)
        with self.database.read(snapshot=True) as connection:
            total = connection.execute(select(func.count()).select_from(user_account)).scalar_one()
            rows = connection.execute(
                select(*_USER_COLUMNS).order_by(user_account.c.id).offset(offset).limit(limit)
            )
            return [_user(row) for row in rows], int(total)

    def set_locked(self, username: str | None, locked: bool, actor: Actor) -> User:
        """Lock (revoking every session) or unlock a user."""
        user = self.get(username)
        now = self.clock.now()
        with self.database.write() as connection:
            values: dict[str, object] = {"locked": locked, "updated_at": now}
            if not locked:
                values.update(failed_logins=0, lockouts=0, locked_until=None)
            connection.execute(
                update(user_account).where(user_account.c.id == user.id).values(**values)
            )
            if locked:
                revoke_user_sessions(connection, user.id, now)
            self.audit.record(
                actor,
                "user.lock" if locked else "user.unlock",
                f"user:{user.username}",
                success=True,
                connection=connection,
            )
        return User(
            user.id,
            user.username,
            user.email,
            user.display_name,
            locked,
            user.created_at,
            user.last_login_at,
        )

    def set_password(
        self, user: User, new_password: str | None, actor: Actor, *, field: str = "password"
    ) -> None:
        """Set a new password and end every session of the user."""
        if not new_password:
            raise Missing("New password must be specified.", field=field)
        check_new_password(new_password, field=field)
        password_hash = self.hashing.hash(new_password)
        now = self.clock.now()
        with self.database.write() as connection:
            connection.execute(
                update(user_account)
                .where(user_account.c.id == user.id)
                .values(password_hash=password_hash, updated_at=now)
            )
            revoke_user_sessions(connection, user.id, now)
            self.audit.record(
                actor,
                "user.password",
                f"user:{user.username}",
                success=True,
                connection=connection,
            )

    def create_reset_token(self, username: str | None, actor: Actor) -> tuple[User, str, datetime]:
        """A one-time password-reset token for the user, valid for an hour."""
        user = self.get(username)
        token = new_token()
        expires = self.clock.now() + RESET_TOKEN_LIFETIME
        with self.database.write() as connection:
            connection.execute(
                insert(password_reset).values(
                    token_hash=token_hash(token), user_id=user.id, expires_at=expires
                )
            )
            self.audit.record(
                actor,
                "user.reset_token",
                f"user:{user.username}",
                success=True,
                connection=connection,
            )
        return user, token, expires

    def reset_password(self, token: str | None, new_password: str | None, actor: Actor) -> User:
        """Use a reset token (once) to set a new password; ends every session of the user."""
        if not token:
            raise Missing("Reset token must be specified.", field="token")
        if not new_password:
            raise Missing("New password must be specified.", field="newPassword")
        check_new_password(new_password, field="newPassword")
        password_hash = self.hashing.hash(new_password)
        now = self.clock.now()
        with self.database.write() as connection:
            # Claim the token atomically: of two concurrent uses exactly one updates the row.
            claimed = connection.execute(
                update(password_reset)
                .where(
                    password_reset.c.token_hash == token_hash(token),
                    password_reset.c.used_at.is_(None),
                    password_reset.c.expires_at > now,
                )
                .values(used_at=now)
            ).rowcount
            row = connection.execute(
                select(*_USER_COLUMNS)
                .join(password_reset, password_reset.c.user_id == user_account.c.id)
                .where(password_reset.c.token_hash == token_hash(token))
            ).first()
            if claimed != 1 or row is None:
                raise ResetTokenInvalid(
                    "Reset token is unknown, expired or already used.", field="token"
                )
            user = _user(row)
            connection.execute(
                update(user_account)
                .where(user_account.c.id == user.id)
                .values(
                    password_hash=password_hash,
                    updated_at=now,
                    failed_logins=0,
                    lockouts=0,
                    locked_until=None,
                )
            )
            revoke_user_sessions(connection, user.id, now)
            self.audit.record(
                actor,
                "user.reset_password",
                f"user:{user.username}",
                success=True,
                connection=connection,
            )
        return user


class ResetTokenInvalid(InvalidValue):
    """A password-reset token that is unknown, expired or used."""


def revoke_user_sessions(connection: Connection, user_id: int, now: datetime) -> int:
    """End every live session of a user; returns how many."""
    return connection.execute(
        update(login_session)
        .where(login_session.c.user_id == user_id, login_session.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
