"""Applications: the original `application_info` rows, their client secrets and origins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from passport.identity.errors import Conflict, InvalidValue, NotFound
from passport.identity.secrets import new_token, token_hash, token_matches
from passport.identity.text import check_name
from passport.storage.database import Database
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import (
    APPLICATION_NAME_MAX,
    ORIGIN_MAX,
    application_info,
    application_origin,
)

PASSPORT_APPLICATION = "Passport"
# Compared against when an application ID is unknown, so the answer takes the same time.
_DUMMY_SECRET_HASH = token_hash("passport: no application has this secret")

_secret_by_id = select(
    application_info.c.applicationid, application_info.c.name, application_info.c.secret_hash
).where(application_info.c.applicationid == bindparam("id"))

_origin_lookup = (
    select(application_info.c.jsonp_sessions)
    .join(
        application_origin, application_origin.c.applicationid == application_info.c.applicationid
    )
    .where(application_origin.c.origin == bindparam("origin"))
)

# getApplication's read, on every call: run on the driver's cursor (storage/prepared.py).
_lookup_by_name = PreparedStatement(
    select(application_info.c.applicationid, application_info.c.name).where(
        application_info.c.name == bindparam("name")
    )
)


@dataclass(frozen=True, slots=True)
class Application:
    """An application that uses Passport."""

    id: int
    name: str
    origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewApplication:
    """An application just created, with its client secret (shown this once)."""

    application: Application
    secret: str


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """An application's row as credentials are checked against it."""

    id: int
    name: str
    secret_hash: str | None


def application_number(application_id: str) -> int | None:
    """The number an `applicationId` credential names, or None when it names none."""
    if application_id.isascii() and application_id.isdigit() and len(application_id) < 10:
        return int(application_id)
    return None


def credentials_match(stored: StoredCredentials | None, secret: str) -> Application | None:
    """The application when the secret is its client secret, else None. The comparison
    runs against a dummy hash when there is no such application (the same time either way).
    """
    stored_hash = stored.secret_hash if stored is not None and stored.secret_hash else None
    if token_matches(secret, stored_hash or _DUMMY_SECRET_HASH) and stored and stored_hash:
        return Application(id=stored.id, name=stored.name)
    return None


def check_application_name(name: str | None) -> str:
    """The application name, checked; raises InvalidValue when missing or malformed."""
    return check_name(
        name or "", field="name", label="Application name", max_length=APPLICATION_NAME_MAX
    )


def check_origin(origin: str) -> str:
    """An origin `scheme://host[:port]` (http or https), normalised; else InvalidValue."""
    parts = urlsplit(origin.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or port == -1
        or len(origin) > ORIGIN_MAX
    ):
        raise InvalidValue(
            f"Origin {origin!r} must be scheme://host[:port] with scheme http or https.",
            field="origin",
            value=origin,
        )
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}"


class ApplicationService:
    """Reads and writes applications."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def find_by_name(self, name: str, connection: Connection | None = None) -> Application | None:
        """The application with exactly this name, or None. One indexed read."""
        if connection is None:
            with self.database.read() as own:
                return self.find_by_name(name, own)
        for application_id, found in _lookup_by_name.rows(connection, {"name": name}):
            # MariaDB may compare case-insensitively on an adopted table; names are exact.
            if found == name:
                return Application(id=application_id, name=found)
        return None

    def authenticate(
        self, application_id: str, secret: str, connection: Connection | None = None
    ) -> Application | None:
        """The application whose ID and client secret these are, or None (constant time)."""
        if connection is None:
            with self.database.read() as own:
                return self.authenticate(application_id, secret, own)
        row = None
        number = application_number(application_id)
        if number is not None:
            row = connection.execute(_secret_by_id, {"id": number}).first()
        if row is None:
            return credentials_match(None, secret)
        return credentials_match(
            StoredCredentials(row.applicationid, row.name, row.secret_hash), secret
        )

    def origin_status(self, origin: str, connection: Connection | None = None) -> tuple[bool, bool]:
        """(registered by some application, and one of those lets JSONP carry sessions)."""
        if connection is None:
            with self.database.read() as own:
                return self.origin_status(origin, own)
        flags = [
            bool(row.jsonp_sessions)
            for row in connection.execute(_origin_lookup, {"origin": origin})
        ]
        return bool(flags), any(flags)

    def rotate_secret(self, name: str) -> NewApplication:
        """A new client secret for the application; the old one stops working at once."""
        application = self.get_by_name(name)
        secret = new_token()
        with self.database.write() as connection:
            connection.execute(
                update(application_info)
                .where(application_info.c.applicationid == application.id)
                .values(secret_hash=token_hash(secret))
            )
        return NewApplication(application, secret)

    def set_origins(self, name: str, origins: Sequence[str]) -> Application:
        """Replace the application's registered origins."""
        application = self.get_by_name(name)
        checked = sorted({check_origin(origin) for origin in origins})
        with self.database.write() as connection:
            connection.execute(
                delete(application_origin).where(
                    application_origin.c.applicationid == application.id
                )
            )
            if checked:
                connection.execute(
                    insert(application_origin),
                    [{"applicationid": application.id, "origin": o} for o in checked],
                )
        return Application(application.id, application.name, tuple(checked))

    def set_jsonp_sessions(self, name: str, enabled: bool) -> Application:
        """Let (or stop) JSONP answers to this application's origins carry session data."""
        application = self.get_by_name(name)
        with self.database.write() as connection:
            connection.execute(
                update(application_info)
                .where(application_info.c.applicationid == application.id)
                .values(jsonp_sessions=enabled)
            )
        return application

    def get_by_name(self, name: str) -> Application:
        """The application with this name; NotFound otherwise."""
        application = self.find_by_name(name)
        if application is None:
            raise NotFound(f"Could not find application '{name}'.", field="name", value=name)
        return application

    def all(self) -> list[Application]:
        """Every application, by ID, with its origins."""
        with self.database.read(snapshot=True) as connection:
            origins: dict[int, list[str]] = {}
            for row in connection.execute(
                select(application_origin.c.applicationid, application_origin.c.origin).order_by(
                    application_origin.c.origin
                )
            ):
                origins.setdefault(row.applicationid, []).append(row.origin)
            return [
                Application(
                    id=row.applicationid,
                    name=row.name,
                    origins=tuple(origins.get(row.applicationid, ())),
                )
                for row in connection.execute(
                    select(application_info.c.applicationid, application_info.c.name).order_by(
                        application_info.c.applicationid
                    )
                )
            ]

    def add(self, name: str, origins: Sequence[str] = ()) -> NewApplication:
        """Create an application with a new client secret; Conflict if the name is taken."""
        name = check_application_name(name)
        checked_origins = sorted({check_origin(origin) for origin in origins})
        secret = new_token()
        with self.database.write() as connection:
            _serialise_adds(connection)
            # Compared in Python: SQLite's lower() folds ASCII only, so 'Ärzte' would pass
            # 'ärzte' there. Applications are few, and adding one is rare.
            folded = name.casefold()
            for (existing,) in connection.execute(select(application_info.c.name)):
                if existing.casefold() == folded:
                    raise Conflict(
                        f"An application named '{existing}' already exists.",
                        field="name",
                        value=name,
                    )
            application_id = _insert_application(connection, name, token_hash(secret))
            if checked_origins:
                connection.execute(
                    insert(application_origin),
                    [{"applicationid": application_id, "origin": o} for o in checked_origins],
                )
        return NewApplication(Application(application_id, name, tuple(checked_origins)), secret)

    def ensure_passport(self) -> tuple[Application, bool]:
        """Make sure the `Passport` row exists; return it and whether it was created now."""
        existing = self.find_by_name(PASSPORT_APPLICATION)
        if existing is not None:
            return existing, False
        with self.database.write() as connection:
            application_id = _insert_application(connection, PASSPORT_APPLICATION, None)
        return Application(application_id, PASSPORT_APPLICATION), True


def _serialise_adds(connection: Connection) -> None:
    """Make parallel adds take turns, so that each one's name check sees the others' rows.

    SQLite's write transaction already holds the database's write lock. PostgreSQL and
    MariaDB (both at READ COMMITTED, see storage/engine.py) read committed rows afresh at
    each statement: once an add holds the lock on the `Passport` row (which `passport
    init` makes and nothing deletes), the next add waits for it to commit, and its name
    check that follows sees the new row. On PostgreSQL the lock is FOR NO KEY UPDATE, so
    rows that merely refer to the Passport application (grants, sessions) do not wait.
    """
    if connection.dialect.name == "sqlite":
        return
    connection.execute(
        select(application_info.c.applicationid)
        .where(application_info.c.name == PASSPORT_APPLICATION)
        .with_for_update(key_share=True)
    ).all()


def _insert_application(connection: Connection, name: str, secret_hash: str | None) -> int:
    result = connection.execute(
        insert(application_info).values(
            name=name, secret_hash=secret_hash, created_at=datetime.now(UTC).replace(tzinfo=None)
        )
    )
    (application_id,) = result.inserted_primary_key or (0,)
    return int(application_id)
