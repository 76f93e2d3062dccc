"""Ending PostgreSQL server processes under a test's connections, as a restart does."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

from passport.storage.database import Database


def backend_pids(connections: Iterable[Connection]) -> list[int]:
    """The server process serving each connection."""
    return [
        int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        for connection in connections
    ]


def end_backends(database: Database, pids: Iterable[int]) -> None:
    """End those server processes from a connection of the database's own."""
    with database.engine.connect() as killer:
        for pid in pids:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
