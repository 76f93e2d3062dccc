"""Engines per backend: SQLite (WAL, busy timeout, BEGIN IMMEDIATE), PostgreSQL, MariaDB."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

SQLITE_BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
# A database that stops answering without closing the connection must not hold a worker
# (or, for reads served on the event loop, every request of it) forever: the kernel gives
# up on the socket after IO_TIMEOUT_S of unacknowledged data or silent keepalives.
IO_TIMEOUT_S = 15
MYSQL_READ_TIMEOUT_S = 120


def normalise_url(url: str) -> URL:
    """Pick Passport's driver for each backend: psycopg 3 and PyMySQL."""
    parsed = make_url(url)
    # From the name as written: SQLAlchemy cannot load a dialect for the `postgres` alias.
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg2", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend in ("mysql", "mariadb") and driver in ("", "mysqldb", "pymysql"):
        return parsed.set(drivername="mysql+pymysql")
    return parsed


def backend_name(engine: Engine) -> str:
    """'sqlite', 'postgresql' or 'mysql'."""
    name = engine.dialect.name
    return "mysql" if name == "mariadb" else name


def make_engine(url: str, *, pool_size: int = 10, autocommit: bool = False) -> Engine:
    """Create an engine with Passport's connection settings for the URL's backend.

    With `autocommit` every statement commits on its own and no BEGIN, ROLLBACK or
    isolation switch is ever sent: the engine for single-statement reads.
    """
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = NullPool
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
        if autocommit:
            kwargs["pool_reset_on_return"] = None
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine, transactions=not autocommit)
        return engine
    kwargs["pool_size"] = pool_size
    kwargs["max_overflow"] = pool_size
    kwargs["pool_recycle"] = 3600
    if backend in ("postgresql", "postgres"):
        # Whatever the server's default: checks that lock a row first, then read, rely on
        # each statement seeing the rows committed before it.
        kwargs["isolation_level"] = "READ COMMITTED"
        kwargs["connect_args"] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": IO_TIMEOUT_S * 1000,
        }
    else:
        kwargs["connect_args"] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            # PyMySQL has no keepalive: a socket timeout, long enough for migrations' DDL.
            "read_timeout": MYSQL_READ_TIMEOUT_S,
            "write_timeout": IO_TIMEOUT_S,
            "charset": "utf8mb4",
            "init_command": "SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
        }
        kwargs["isolation_level"] = "READ COMMITTED"
    if autocommit:
        kwargs["isolation_level"] = "AUTOCOMMIT"
        kwargs["pool_reset_on_return"] = None  # nothing to roll back; MariaDB saves a trip
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine, *, transactions: bool) -> None:
    # pysqlite's own transaction handling opens a deferred BEGIN late; a deferred
    # transaction that later writes can lose updates or fail under concurrency. Passport
    # takes over: autocommit at the driver, and every transaction begins IMMEDIATE, taking
    # the write lock up front (readers are not blocked under WAL).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    if not transactions:
        return  # the driver's autocommit: each statement on its own, no BEGIN at all

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        statement = f"BEGIN {mode}"
        # On the driver's connection: through SQLAlchemy's execution this cost about 30 µs
        # of CPU per transaction. Errors are raised as SQLAlchemy's, as they were.
        driver_error = connection.dialect.loaded_dbapi.Error
        try:
            connection.connection.dbapi_connection.execute(statement)
        except driver_error as error:
            raise DBAPIError.instance(
                statement, (), error, driver_error, dialect=connection.dialect
            ) from error
