"""PreparedStatement: driver SQL compiled once, answering exactly as SQLAlchemy's execution does."""

from __future__ import annotations

from datetime import datetime

import pytest
from postgres_restart import backend_pids, end_backends
from sqlalchemy import bindparam, func, insert, literal_column, select, text, union
from sqlalchemy.exc import DBAPIError

from passport.storage.database import Database
from passport.storage.prepared import PreparedStatement
from passport.storage.tables import application_info, login_session, user_account

SEEN = datetime(2026, 3, 4, 5, 6, 7)  # whole seconds: MariaDB DATETIME keeps no fraction

# Literal parameters, a required one used twice, DateTime and Boolean columns, a UNION.
STATEMENT = union(
    select(
        literal_column("1").label("kind"),
        user_account.c.username.label("name"),
        func.coalesce(user_account.c.email, "none").label("detail"),
        login_session.c.last_seen_at.label("seen"),
        user_account.c.locked.label("locked"),
    )
    .join(login_session, login_session.c.user_id == user_account.c.id)
    .where(user_account.c.username == bindparam("name")),
    select(
        literal_column("2"),
        application_info.c.name,
        func.coalesce(application_info.c.secret_hash, "no secret"),
        login_session.c.expires_at,
        user_account.c.locked,
    )
    .join(login_session, login_session.c.application_id == application_info.c.applicationid)
    .join(user_account, user_account.c.id == login_session.c.user_id)
    .where(user_account.c.username == bindparam("name")),
).order_by("kind", "name")


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.write() as connection:
        user = connection.execute(
            insert(user_account).values(
                username="Alice",
                username_key="alice",
                locked=False,
                created_at=SEEN,
                updated_at=SEEN,
            )
        ).inserted_primary_key
        application = connection.execute(
            insert(application_info).values(name="Docs")
        ).inserted_primary_key
        for application_id in (None, application[0]):
            connection.execute(
                insert(login_session).values(
                    token_hash=f"hash-{application_id}",
                    user_id=user[0],
                    application_id=application_id,
                    created_at=SEEN,
                    last_seen_at=SEEN,
                    expires_at=SEEN.replace(hour=17),
                )
            )
    return database


def test_rows_are_those_sqlalchemy_returns_with_the_same_types(seeded: Database) -> None:
    prepared = PreparedStatement(STATEMENT)
    with seeded.read() as connection:
        expected = [tuple(row) for row in connection.execute(STATEMENT, {"name": "Alice"})]
        first = prepared.rows(connection, {"name": "Alice"})
        again = prepared.rows(connection, {"name": "Alice"})  # compiled once, reused
        none = prepared.rows(connection, {"name": "Bob"})

    assert first == expected
    assert first == [
        (1, "Alice", "none", SEEN, False),
        (2, "Docs", "no secret", SEEN.replace(hour=17), False),
    ]
    assert [type(value) for value in first[0]][3] is datetime
    assert again == first
    assert none == []


def test_rows_wider_than_the_statement_says_are_refused(database: Database) -> None:
    # Results are processed by column position: a row that does not match the statement's
    # columns would be processed wrongly, so it is refused instead.
    claims_one = PreparedStatement(
        text("SELECT 1, CURRENT_TIMESTAMP").columns(literal_column("a").label("a"))
    )
    with database.read() as connection, pytest.raises(TypeError, match="rows of 2 columns"):
        claims_one.rows(connection, {})


def test_a_driver_error_is_raised_as_sqlalchemys_error(database: Database) -> None:
    broken = PreparedStatement(select(text("no_such_column")).select_from(user_account))
    with database.read() as connection, pytest.raises(DBAPIError) as raised:
        broken.rows(connection, {})
    assert "no_such_column" in str(raised.value)
    assert raised.value.connection_invalidated is False


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_lost_server_invalidates_the_pool_and_the_next_read_reconnects(
    database: Database,
) -> None:
    # Two connections in the reader pool, both of whose server processes go away (as in a
    # server restart): one request fails, the next ones get fresh connections.
    prepared = PreparedStatement(select(func.count()).select_from(user_account))
    with database.read() as first, database.read() as second:
        pids = backend_pids([first, second])
    end_backends(database, pids)

    with database.read() as connection, pytest.raises(DBAPIError) as raised:
        prepared.rows(connection, {})
    assert raised.value.connection_invalidated is True
    for _ in range(2):
        with database.read() as connection:
            assert prepared.rows(connection, {}) == [(0,)]
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() not in pids


def test_returning_values_are_processed_like_sqlalchemys(database: Database) -> None:
    stamp = PreparedStatement(
        insert(user_account)
        .values(
            username=bindparam("name"),
            username_key=bindparam("key"),
            locked=False,
            failed_logins=0,
            lockouts=0,
            created_at=bindparam("at"),
            updated_at=bindparam("at"),
        )
        .returning(user_account.c.created_at, user_account.c.locked)
    )
    with database.write() as connection:
        if not connection.dialect.insert_returning:  # pragma: no cover - every tested backend
            pytest.fail("the tested backends all have INSERT ... RETURNING")
        rows = stamp.rows(connection, {"name": "Carol", "key": "carol", "at": SEEN})
    assert rows == [(SEEN, False)]
    assert type(rows[0][0]) is datetime


def test_a_statement_that_needs_python_side_defaults_is_refused(database: Database) -> None:
    # user_account's failed_logins and lockouts default in Python: SQLAlchemy fills them in
    # at execution, the driver alone would write NULL.
    incomplete = PreparedStatement(
        insert(user_account).values(
            username="Dave", username_key="dave", created_at=SEEN, updated_at=SEEN
        )
    )
    with database.write() as connection, pytest.raises(TypeError, match="failed_logins"):
        incomplete.execute(connection, {})
