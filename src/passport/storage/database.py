"""The Database handle: one engine, read and write transactions with the right locking."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.pool import QueuePool

from passport.storage.engine import backend_name, make_engine


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
        pool = (self.reader or self.engine).pool
        if not isinstance(pool, QueuePool):
            return True
        return pool.checkedin() > 0 or pool.overflow() < self.max_overflow

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
        self.engine.dispose()
        if self.reader is not None:
            self.reader.dispose()
