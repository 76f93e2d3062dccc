"""Kept reader connections: reused between requests, given back on errors and with age."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from postgres_restart import backend_pids, end_backends
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from passport.storage import database as database_module
from passport.storage.database import Database
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import user_account

COUNT = PreparedStatement(select(func.count()).select_from(user_account))


class Checkouts:
    """Counts the reader pool's checkouts while listening."""

    def __init__(self, database: Database) -> None:
        assert database.reader is not None
        self.engine = database.reader
        self.count = 0

    def _seen(self, *_: object) -> None:
        self.count += 1

    def __enter__(self) -> Checkouts:
        event.listen(self.engine, "checkout", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "checkout", self._seen)


def _read(database: Database) -> int:
    with database.quick_read() as connection:
        ((count,),) = COUNT.rows(connection, {})
        return int(count)


def test_a_kept_connection_serves_the_next_reads_without_the_pool(database: Database) -> None:
    with Checkouts(database) as checkouts:
        assert [_read(database) for _ in range(5)] == [0] * 5
    assert checkouts.count == 1
    assert database.reader_free()


def test_two_reads_at_once_each_get_their_own_connection(database: Database) -> None:
    with database.quick_read() as first, database.quick_read() as second:
        assert first is not second
        assert first.connection.dbapi_connection is not second.connection.dbapi_connection
    # Both are kept (up to KEPT_READERS) and serve the next two reads at once.
    with Checkouts(database) as checkouts, database.quick_read(), database.quick_read():
        pass
    assert checkouts.count == 0


def test_a_failed_request_gives_its_connection_back_to_the_pool(database: Database) -> None:
    _read(database)

    def failing_method() -> None:
        with database.quick_read() as connection:
            COUNT.rows(connection, {})
            raise ValueError("the method failed")

    with pytest.raises(ValueError, match="the method failed"):
        failing_method()
    with Checkouts(database) as checkouts:
        _read(database)
    assert checkouts.count == 1


def test_a_database_error_gives_back_every_kept_connection(database: Database) -> None:
    with database.quick_read(), database.quick_read():
        pass  # two kept
    broken = PreparedStatement(select(text("no_such_column")).select_from(user_account))
    with pytest.raises(DBAPIError), database.quick_read() as connection:
        broken.rows(connection, {})
    with Checkouts(database) as checkouts:
        _read(database)
    assert checkouts.count == 1


def test_a_kept_connection_goes_back_to_the_pool_when_it_is_old(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    # Only the database module's clock: time.monotonic stays as it is everywhere else.
    monkeypatch.setattr(database_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    _read(database)
    now[0] += database_module.KEPT_READER_SECONDS - 1
    with Checkouts(database) as checkouts:
        _read(database)
    assert checkouts.count == 0
    now[0] += 2  # past the limit since it left the pool, though it served a read meanwhile
    with Checkouts(database) as checkouts:
        _read(database)
    assert checkouts.count == 1


def test_dispose_gives_the_kept_connections_back(database: Database) -> None:
    with database.quick_read() as first, database.quick_read() as second:
        kept = [first, second]
    assert not any(connection.closed for connection in kept)  # kept open for the next reads
    database.dispose()
    assert all(connection.closed for connection in kept)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_after_a_lost_server_one_read_fails_and_the_next_reconnects(database: Database) -> None:
    with database.quick_read() as first, database.quick_read() as second:
        pids = backend_pids([first, second])
    end_backends(database, pids)
    with pytest.raises(DBAPIError) as raised:
        _read(database)
    assert raised.value.connection_invalidated is True
    assert [_read(database) for _ in range(3)] == [0, 0, 0]


def test_threads_reading_at_once_never_share_a_connection(database: Database) -> None:
    # Requests on the event loop and in the threadpool take kept connections at once.
    held: set[int] = set()
    guard = threading.Lock()
    shared: list[int] = []

    def reads() -> None:
        for _ in range(50):
            with database.quick_read() as connection:
                driver = id(connection.connection.dbapi_connection)
                with guard:
                    if driver in held:
                        shared.append(driver)
                    held.add(driver)
                COUNT.rows(connection, {})
                with guard:
                    held.discard(driver)

    threads = [threading.Thread(target=reads) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared == []
    assert _read(database) == 0
