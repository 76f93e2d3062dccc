"""Running migrations, checking that a database is current, adopting an original database."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from passport.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
ORIGINAL_REVISION = "0001"
ORIGINAL_COLUMNS = frozenset({"applicationid", "name"})


class MigrationError(Exception):
    """The database cannot be migrated or adopted as asked; the message says why."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest migration this Passport version ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise MigrationError("no migrations found")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def is_current(database: Database) -> bool:
    """True when the database answers and is at the head revision."""
    with database.read() as connection:
        return current_revision(connection) == head_revision()


def upgrade(database: Database) -> tuple[str | None, str]:
    """Migrate to head; return (revision before, revision after).

    A database that holds the original service's tables but no migration history is
    refused: `passport db adopt` takes it over without touching its rows.
    """
    with database.write() as connection:
        before = current_revision(connection)
        if before is None and inspect(connection).has_table("application_info"):
            raise MigrationError(
                "this database already has an application_info table from the original "
                "Passport service; run `passport db adopt` to take it over"
            )
        command.upgrade(_config(connection), "head")
        return before, head_revision()


def adopt(database: Database) -> tuple[int, str]:
    """Take over a database created by the original scripts; return (rows kept, revision)."""
    with database.write() as connection:
        inspector = inspect(connection)
        if current_revision(connection) is not None:
            raise MigrationError(
                "this database is already managed by Passport; use `passport db upgrade`"
            )
        if not inspector.has_table("application_info"):
            raise MigrationError(
                "no application_info table here: this is not a database of the original "
                "Passport service (for a new database run `passport db upgrade`)"
            )
        columns = {column["name"].lower() for column in inspector.get_columns("application_info")}
        missing = ORIGINAL_COLUMNS - columns
        if missing:
            raise MigrationError(
                "application_info lacks the original columns " + ", ".join(sorted(missing))
            )
        rows = connection.exec_driver_sql("SELECT COUNT(*) FROM application_info").scalar_one()
        config = _config(connection)
        command.stamp(config, ORIGINAL_REVISION)
        command.upgrade(config, "head")
        if database.backend == "postgresql":
            # Rows inserted with explicit IDs leave a serial's sequence behind them; without
            # this the next new application would collide with an adopted ID.
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('application_info', 'applicationid'), "
                "COALESCE(MAX(applicationid), 1), MAX(applicationid) IS NOT NULL) "
                "FROM application_info"
            )
        return int(rows), head_revision()
