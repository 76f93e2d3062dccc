"""SQLite: WAL, a busy timeout, foreign keys, and write transactions that lose no update."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from passport.storage.database import Database
from passport.storage.engine import SQLITE_BUSY_TIMEOUT_MS


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'passport.db'}")
    with database.write() as connection:
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        connection.execute(text("INSERT INTO counter (id, value) VALUES (1, 0)"))
    yield database
    database.dispose()


def pragma(database: Database, name: str) -> object:
    with database.read() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def test_sqlite_uses_write_ahead_logging(sqlite_database: Database) -> None:
    assert pragma(sqlite_database, "journal_mode") == "wal"


def test_sqlite_waits_for_a_busy_database_instead_of_failing(sqlite_database: Database) -> None:
    assert pragma(sqlite_database, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
    assert SQLITE_BUSY_TIMEOUT_MS >= 1000


def test_sqlite_enforces_foreign_keys(sqlite_database: Database) -> None:
    assert pragma(sqlite_database, "foreign_keys") == 1


def test_write_transaction_holds_the_write_lock_from_its_start(sqlite_database: Database) -> None:
    with sqlite_database.write() as connection:
        # BEGIN IMMEDIATE took the write lock before any statement: a second writer that
        # asks without waiting is refused at once.
        other = sqlite_database.engine.raw_connection()
        try:
            other.execute("PRAGMA busy_timeout = 0")
            with pytest.raises(Exception, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
        connection.execute(text("SELECT value FROM counter WHERE id = 1"))


def test_read_does_not_take_the_write_lock(sqlite_database: Database) -> None:
    with sqlite_database.read() as connection:
        connection.execute(text("SELECT value FROM counter WHERE id = 1"))
        with sqlite_database.write() as writer:
            writer.execute(text("UPDATE counter SET value = value + 1 WHERE id = 1"))
    assert counter_value(sqlite_database) == 1


def counter_value(database: Database) -> int:
    with database.read() as connection:
        return int(connection.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one())


def test_concurrent_read_then_write_increments_lose_no_update(sqlite_database: Database) -> None:
    threads, increments = 2, 200
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(increments):
                with sqlite_database.write() as connection:
                    value = connection.execute(
                        text("SELECT value FROM counter WHERE id = 1")
                    ).scalar_one()
                    os.sched_yield()  # invite the other thread in between read and write
                    connection.execute(
                        text("UPDATE counter SET value = :value WHERE id = 1"),
                        {"value": value + 1},
                    )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert counter_value(sqlite_database) == threads * increments


def test_a_write_that_cannot_get_the_lock_fails_with_sqlalchemys_error(
    sqlite_database: Database,
) -> None:
    holder = sqlite_database.engine.raw_connection()
    try:
        holder.execute("BEGIN IMMEDIATE")
        with sqlite_database.engine.connect() as impatient:
            driver = impatient.connection.dbapi_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout = 0")
            with pytest.raises(OperationalError, match="locked"):
                impatient.begin()
    finally:
        holder.rollback()
        holder.close()
