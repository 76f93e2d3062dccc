"""Helpers every command shares: settings, the database, its migration state, addresses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from passport.cli.errors import DATABASE_URL_KEY, CommandError, masked_url
from passport.config import Settings
from passport.storage.database import Database
from passport.storage.migrate import current_revision, head_revision, is_current

WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names them, binds nothing


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other backends and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextmanager
def open_database(settings: Settings, *, create: bool = False) -> Iterator[Database]:
    """The settings' database, disposed at the end.

    Without `create`, a SQLite file that does not exist is an error rather than an empty
    new database (SQLite would otherwise create the file on first use).
    """
    url = settings.effective_database_url
    masked_database_url(settings)  # a URL that does not parse stops here, in one line
    click.get_current_context().meta[DATABASE_URL_KEY] = url
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.exists():
            raise CommandError(f"no database at {path}: run `passport init` first")
        if create and not path.parent.is_dir():
            raise CommandError(f"folder {path.parent} does not exist: run `passport init` first")
    database = Database.from_url(url)
    try:
        yield database
    finally:
        database.dispose()


def describe_revision(revision: str | None) -> str:
    """A revision for people: the revision, or 'empty' for a database never migrated."""
    return revision or "empty"


def migration_problem(database: Database) -> str | None:
    """Why the database cannot be served as it is, with what to run; None when current."""
    if is_current(database):
        return None
    head = head_revision()
    with database.read() as connection:
        revision = current_revision(connection)
        original = revision is None and inspect(connection).has_table("application_info")
    if original:
        return (
            "the database holds the original Passport service's tables: "
            "run `passport db adopt` to take it over"
        )
    if revision is None:
        return "the database is empty: run `passport init` (or `passport db upgrade`)"
    return (
        f"the database is at migration {revision}, this Passport needs {head}: "
        "run `passport db upgrade`"
    )


def require_current(database: Database) -> None:
    """Stop with one clear line unless the database is migrated to head."""
    problem = migration_problem(database)
    if problem is not None:
        raise CommandError(problem)


def listen_url(settings: Settings, *, reachable: bool = False) -> str:
    """The address `passport run` listens on, as a URL; `reachable` puts loopback for a wildcard."""
    scheme = "http" if settings.insecure_http else "https"
    host = settings.host
    if reachable and host in WILDCARD_HOSTS:
        host = "::1" if host == "::" else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{settings.port}"


def masked_database_url(settings: Settings) -> str:
    """The database URL with its password masked, for output."""
    return masked_url(settings.effective_database_url)
