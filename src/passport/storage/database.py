"""The Database handle: one engine, read and write transactions with the right locking."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from passport.storage.engine import backend_name, make_engine

# Reader connections that `quick_read` keeps open between requests: how many, and for how
# long before one goes back to the pool (which recycles and checks its connections).
KEPT_READERS = 2
KEPT_READER_SECONDS = 300.0


class Database:
    """A thin owner of the engine that opens transactions the way each backend needs.

    `read()` serves reads from a second engine in autocommit (one round trip per statement,
    no BEGIN, ROLLBACK or isolation switch); `read(snapshot=True)` runs its statements in one
    repeatable-read (on SQLite: deferred) transaction. `write()` opens a transaction that
    takes SQLite's write lock at BEGIN, so a read-then-write inside it cannot lose an update.
    """

    def __init__(
        self, engine: Engine, reader: Engine | None = None, *, max_overflow: int = 0
    ) -> None:
        self.engine = engine
        self.reader = reader
        self.max_overflow = max_overflow
        self.backend = backend_name(engine)
        self._sqlite = self.backend == "sqlite"
        # (connection, when it left the pool); list.pop and list.append are atomic, so a
        # connection is never handed to two requests at once.
        self._kept: list[tuple[Connection, float]] = []

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10) -> Database:
        """Build a Database for a URL, with Passport's engine settings."""
        return cls(
            make_engine(url, pool_size=pool_size),
            make_engine(url, pool_size=pool_size, autocommit=True),
            max_overflow=pool_size,  # make_engine lets each pool grow to twice its size
        )

    def reader_free(self) -> bool:
        """Whether a read gets a connection at once, without waiting for one to come back.

        Reads that run on the event loop ask first: waiting there for the pool would hold
        up every request of the worker.
        """
        if self._kept:
            return True
        pool = (self.reader or self.engine).pool
        if not isinstance(pool, QueuePool):
            return True
        return pool.checkedin() > 0 or pool.overflow() < self.max_overflow

    @contextmanager
    def quick_read(self) -> Iterator[Connection]:
        """A reader connection for a request's short reads, kept open between requests.

        Taking a connection from the pool and giving it back cost a session check about a
        sixth of its CPU; a kept connection skips both. A kept connection goes back to the
        pool after KEPT_READER_SECONDS, or when the request fails; on a database error every
        kept one does (a lost server then costs one failed read, as with the pool alone).
        """
        if self.reader is None:
            with self.read() as connection:
                yield connection
            return
        try:
            connection, since = self._kept.pop()
        except IndexError:
            connection, since = self.reader.connect(), time.monotonic()
        else:
            if connection.invalidated or time.monotonic() - since > KEPT_READER_SECONDS:
                connection.close()
                connection, since = self.reader.connect(), time.monotonic()
        try:
            yield connection
        except DBAPIError:
            connection.close()
            self._release_kept()
            raise
        except BaseException:
            connection.close()  # a read may have been cut short: back to the pool with it
            raise
        if len(self._kept) < KEPT_READERS and not connection.invalidated:
            self._kept.append((connection, since))
        else:
            connection.close()

    def _release_kept(self) -> None:
        while True:
            try:
                connection, _ = self._kept.pop()
            except IndexError:
                return
            connection.close()

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """A connection for reading; with `snapshot`, every statement sees one snapshot."""
        if self.reader is not None and not snapshot:
            with self.reader.connect() as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            if self._sqlite:
                connection.execution_options(sqlite_begin="DEFERRED")
            elif snapshot:
                connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                connection.execution_options(isolation_level="AUTOCOMMIT")
            with connection.begin() as transaction:
                yield connection
                transaction.rollback()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed at the end unless an exception escapes."""
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._release_kept()
        self.engine.dispose()
        if self.reader is not None:
            self.reader.dispose()
