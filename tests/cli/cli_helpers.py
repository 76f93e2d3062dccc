"""Helpers for the CLI tests: the in-process runner, error-line checks, direct queries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from passport.cli.main import main
from passport.storage.engine import normalise_url


class DatabaseServer(Protocol):
    """What tests/conftest.py's ServerDatabases offers: a new empty database's URL."""

    def create(self, purpose: str) -> str:
        """A new empty database; returns its URL."""
        ...


class Cli:
    """Runs `passport ...` in-process; an unexpected exception fails the test with its trace."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        """Invoke the command line with these arguments."""
        return self.runner.invoke(main, list(args), catch_exceptions=False)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """The command failed with exactly one `passport: error:` line holding the fragments."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("passport: error: "), line
    for fragment in fragments:
        assert fragment in line
    return line


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of a query on a database, read outside Passport."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def sqlite_url(home: Path) -> str:
    """The URL of the SQLite database `passport init` makes in a home."""
    return f"sqlite:///{home / 'passport.db'}"


def lines_of(output: str) -> Sequence[str]:
    """Output lines without surrounding spaces."""
    return [line.strip() for line in output.splitlines()]


def execute(url: str, *statements: str) -> None:
    """Run statements in one transaction on a database, outside Passport."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()
