"""Migrations on SQLite, PostgreSQL and MariaDB: empty to head, down and up, schema = metadata."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from passport.storage.database import Database
from passport.storage.migrate import (
    MIGRATIONS,
    MigrationError,
    adopt,
    current_revision,
    head_revision,
    is_current,
    upgrade,
)
from passport.storage.tables import metadata


@pytest.fixture
def empty_database(empty_database_url: str) -> Iterator[Database]:
    database = Database.from_url(empty_database_url)
    yield database
    database.dispose()


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def schema_differences(database: Database) -> list[object]:
    with database.read() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def table_names(database: Database) -> set[str]:
    with database.read() as connection:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}


def test_fresh_database_is_not_current(empty_database: Database) -> None:
    assert is_current(empty_database) is False


def test_upgrade_from_empty_reaches_head(empty_database: Database) -> None:
    before, after = upgrade(empty_database)
    assert before is None
    assert after == head_revision()
    assert is_current(empty_database) is True
    assert table_names(empty_database) == set(metadata.tables)


def test_upgraded_tables_match_the_metadata_exactly(empty_database: Database) -> None:
    upgrade(empty_database)
    assert schema_differences(empty_database) == []


def test_upgrade_twice_changes_nothing(empty_database: Database) -> None:
    upgrade(empty_database)
    before, after = upgrade(empty_database)
    assert before == after == head_revision()
    assert is_current(empty_database) is True


def test_downgrade_to_base_and_upgrade_again(empty_database: Database) -> None:
    upgrade(empty_database)
    with empty_database.write() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert table_names(empty_database) == set()
    assert is_current(empty_database) is False
    upgrade(empty_database)
    assert is_current(empty_database) is True
    assert schema_differences(empty_database) == []


def test_database_one_migration_behind_is_not_current(empty_database: Database) -> None:
    upgrade(empty_database)
    with empty_database.write() as connection:
        command.downgrade(alembic_config(connection), "-1")
    assert is_current(empty_database) is False
    before, _ = upgrade(empty_database)
    assert before is not None
    assert before != head_revision()
    assert is_current(empty_database) is True


def create_original_table(database: Database) -> None:
    with database.write() as connection:
        connection.execute(
            text(
                "CREATE TABLE application_info "
                "(applicationid INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL)"
            )
        )
        connection.execute(
            text("INSERT INTO application_info (applicationid, name) VALUES (1, 'Passport')")
        )
        connection.execute(
            text("INSERT INTO application_info (applicationid, name) VALUES (7, 'Wiki')")
        )


def test_upgrade_refuses_a_database_of_the_original_service(empty_database: Database) -> None:
    create_original_table(empty_database)
    with pytest.raises(MigrationError, match="passport db adopt"):
        upgrade(empty_database)
    with empty_database.read() as connection:
        assert current_revision(connection) is None


def test_adopt_keeps_every_original_row_and_id(empty_database: Database) -> None:
    create_original_table(empty_database)
    rows, revision = adopt(empty_database)
    assert (rows, revision) == (2, head_revision())
    assert is_current(empty_database) is True
    with empty_database.read() as connection:
        kept = connection.execute(
            text("SELECT applicationid, name FROM application_info ORDER BY applicationid")
        ).all()
    assert [tuple(row) for row in kept] == [(1, "Passport"), (7, "Wiki")]


def test_adopt_refuses_a_database_passport_already_manages(empty_database: Database) -> None:
    upgrade(empty_database)
    with pytest.raises(MigrationError, match="already managed"):
        adopt(empty_database)


def test_adopt_refuses_a_database_without_the_original_table(empty_database: Database) -> None:
    with pytest.raises(MigrationError, match="no application_info table"):
        adopt(empty_database)
