"""Hot statements compiled once per backend and run on the driver's cursor.

SQLAlchemy Core spends about 30 µs of CPU per statement on SQLite (more on PostgreSQL)
setting up its execution context and result object; a session check runs one statement on
every request and a login nine, so for the few statements on those paths Passport runs the SQL that
SQLAlchemy compiled for the backend directly on the driver's cursor. Parameters and
results are processed exactly as SQLAlchemy would (the same bind and result processors),
and a driver error is raised as SQLAlchemy's own error class, after invalidating the
connection when the error says it was lost, as SQLAlchemy does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for positional paramstyles
    defaults: Mapping[str, Any]  # values of the statement's own literal parameters
    binds: Mapping[str, Processor]
    width: int  # columns in a result row
    results: tuple[tuple[int, Processor], ...]  # (position, processor) of the columns with one


class PreparedStatement:
    """A statement run as plain driver SQL: `rows` for a SELECT (or UNION), as tuples;
    `execute` for INSERT, UPDATE or DELETE, inside the caller's transaction."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the statement yields for these parameters."""
        compiled, fetched, _ = self._run(connection, parameters, fetch=True)
        if fetched and len(fetched[0]) != compiled.width:
            raise TypeError(f"rows of {len(fetched[0])} columns from {compiled.sql!r}")
        if not compiled.results:
            return [tuple(row) for row in fetched]
        # Only the columns that have a processor (on SQLite: dates), by position: most
        # columns have none, and a call per value was a tenth of a session check's CPU.
        processed = []
        for row in fetched:
            values = list(row)
            for position, process in compiled.results:
                values[position] = process(values[position])
            processed.append(tuple(values))
        return processed

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> int:
        """Run the statement; the number of rows it matched."""
        _, _, count = self._run(connection, parameters, fetch=False)
        return count

    def _run(
        self, connection: Connection, parameters: Mapping[str, Any], *, fetch: bool
    ) -> tuple[_Compiled, Sequence[Any], int]:
        dialect = connection.dialect
        compiled = self._by_dialect.get(dialect.name) or self._compile(dialect)
        values = {**compiled.defaults, **parameters}
        for name, process in compiled.binds.items():
            values[name] = process(values[name])
        arguments: Sequence[Any] | Mapping[str, Any] = (
            values if compiled.order is None else tuple(values[name] for name in compiled.order)
        )
        raw = connection.connection
        cursor = raw.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
            fetched: Sequence[Any] = cursor.fetchall() if fetch else ()
            count = cursor.rowcount
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, raw.dbapi_connection, cursor)
            _close_quietly(cursor)
            if lost:
                # As SQLAlchemy does on a lost connection: this one is invalidated, and so
                # is every other connection the pool held, since the server they talked to
                # went away too (each would fail one request otherwise).
                connection.invalidate(error)
                connection.engine.dispose()
            raise DBAPIError.instance(
                compiled.sql,
                arguments,
                error,
                dialect.loaded_dbapi.Error,
                dialect=dialect,
                connection_invalidated=lost,
            ) from error
        cursor.close()
        return compiled, fetched, count

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"not a SQL statement: {self.statement!r}")
        computed = [*compiled.insert_prefetch, *compiled.update_prefetch]
        if computed:
            # SQLAlchemy computes these values at execution; the driver would write NULL.
            names = ", ".join(column.name for column in computed)
            raise TypeError(f"give values for the columns with Python-side defaults: {names}")
        binds = {
            name: process
            for name, process in (
                (name, parameter.type.dialect_impl(dialect).bind_processor(dialect))
                for parameter, name in compiled.bind_names.items()
            )
            if process is not None
        }
        # A SELECT's columns, or what an INSERT/UPDATE ... RETURNING returns.
        selected = getattr(self.statement, "exported_columns", ())
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
        ]
        prepared = _Compiled(
            sql=compiled.string,
            order=tuple(compiled.positiontup or ()) if compiled.positional else None,
            defaults={
                name: parameter.value
                for parameter, name in compiled.bind_names.items()
                if not parameter.required
            },
            binds=binds,
            width=len(processors),
            results=tuple(
                (position, process)
                for position, process in enumerate(processors)
                if process is not None
            ),
        )
        self._by_dialect[dialect.name] = prepared
        return prepared


def _close_quietly(cursor: Any) -> None:
    # After a driver error the cursor may be unusable; its own error must not hide the first.
    try:
        cursor.close()
    except Exception:  # noqa: BLE001 - the driver error being raised is the one that matters
        return
