"""`passport db upgrade|adopt`, including taking over a database of the original service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from cli_helpers import (
    Cli,
    DatabaseServer,
    assert_one_line_error,
    execute,
    lines_of,
    query,
    sqlite_url,
)
from sqlalchemy import create_engine, inspect

from passport.app import create_app
from passport.config import Settings
from passport.storage.engine import normalise_url
from passport.storage.migrate import MIGRATIONS, head_revision

# The original scripts' table, as each backend spells AUTO_INCREMENT.
ORIGINAL_TABLE = {
    "mysql": "CREATE TABLE application_info ("
    "applicationid INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL)",
    "postgresql": "CREATE TABLE application_info ("
    "applicationid SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL)",
    "sqlite": "CREATE TABLE application_info ("
    "applicationid INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(255) NOT NULL)",
}
# MySQL's defaults of the original service's days: MyISAM tables in latin1.
LEGACY_MYSQL_OPTIONS = " ENGINE=MyISAM DEFAULT CHARSET=latin1 COLLATE latin1_swedish_ci"
ORIGINAL_ROWS = [(1, "Passport"), (5, "Wiki"), (9, "Blog")]


@pytest.fixture
def empty_database(
    backend: str, request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A new empty database on the test's backend, named by PASSPORT_DATABASE_URL."""
    if backend == "sqlite":
        home.mkdir()
        url = f"sqlite:///{home / 'original.db'}"
        create_engine(url).connect().close()  # creates the empty file
    else:
        servers: dict[str, DatabaseServer] = request.getfixturevalue("server_databases")
        url = servers[backend].create("adopt")
    monkeypatch.setenv("PASSPORT_DATABASE_URL", url)
    return url


def make_original(url: str, backend: str, rows: list[tuple[int, str]], options: str = "") -> None:
    """The original service's table with these rows, as its scripts made it."""
    values = ", ".join(f"({number}, '{name}')" for number, name in rows)
    execute(
        url,
        ORIGINAL_TABLE[backend] + options,
        f"INSERT INTO application_info (applicationid, name) VALUES {values}",  # noqa: S608 - test data
    )


def application_ids(url: str) -> list[tuple[object, ...]]:
    """(ID, name) of every application, by ID."""
    return query(url, "SELECT applicationid, name FROM application_info ORDER BY applicationid")


def answered_ids(home: Path, names: list[str]) -> dict[str, object]:
    """What getApplication answers for each name, in-process, on PASSPORT_DATABASE_URL."""
    settings = Settings(home=home, public_url="https://passport.test")
    app = create_app(settings)

    async def ask() -> dict[str, object]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as api:
            answers: dict[str, object] = {}
            for name in names:
                response = await api.get("/Service/getApplication", params={"name": name})
                answers[name] = response.json()["Data"]
            return answers

    try:
        return asyncio.run(ask())
    finally:
        app.state.services.database.dispose()


def original_answer(name: str, number: int) -> dict[str, object]:
    """getApplication's Data for an application, as the original service answered."""
    return {"Message": f"Application ID for '{name}' is: {number}", "Application": {"ID": number}}


def test_db_upgrade_migrates_an_empty_database_once(cli: Cli, home: Path) -> None:
    home.mkdir()

    first = cli("db", "upgrade")
    second = cli("db", "upgrade")

    assert first.exit_code == 0, first.output
    assert f"database at {head_revision()} (was empty)" in lines_of(first.stdout)
    assert second.exit_code == 0, second.output
    assert f"already at {head_revision()}, nothing to do" in lines_of(second.stdout)
    url = sqlite_url(home)
    assert query(url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    # upgrade makes the schema only; `passport init` seeds the Passport row.
    assert application_ids(url) == []


def test_db_upgrade_from_an_older_revision_says_from_where(cli: Cli, home: Path) -> None:
    home.mkdir()
    engine = create_engine(sqlite_url(home))
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    engine.dispose()

    result = cli("db", "upgrade")

    assert result.exit_code == 0, result.output
    assert f"database at {head_revision()} (was 0001)" in lines_of(result.stdout)


def test_db_upgrade_of_an_unknown_revision_is_one_line(cli: Cli, initialised: Path) -> None:
    execute(sqlite_url(initialised), "UPDATE alembic_version SET version_num = 'ffff'")

    result = cli("db", "upgrade")

    assert_one_line_error(result, "'ffff'")


def test_db_upgrade_without_a_home_points_at_init(cli: Cli, home: Path) -> None:
    result = cli("db", "upgrade")

    assert_one_line_error(result, f"folder {home} does not exist", "passport init")
    assert not home.exists()


def test_db_adopt_keeps_every_row_and_id_and_new_applications_follow(
    cli: Cli, backend: str, empty_database: str
) -> None:
    make_original(empty_database, backend, ORIGINAL_ROWS)

    result = cli("db", "adopt")

    assert result.exit_code == 0, result.output
    output = lines_of(result.stdout)
    assert "adopted: kept 3 application rows, IDs unchanged" in output
    assert f"database at {head_revision()} (was the original schema)" in output
    assert "application 'Passport' found (ID 1)" in output
    assert application_ids(empty_database) == ORIGINAL_ROWS
    added = cli("app", "add", "Forum")
    assert added.exit_code == 0, added.output
    assert "ID: 10" in lines_of(added.stdout)
    assert application_ids(empty_database) == [*ORIGINAL_ROWS, (10, "Forum")]


def test_adopted_database_answers_the_old_ids(
    cli: Cli, backend: str, empty_database: str, home: Path
) -> None:
    make_original(empty_database, backend, ORIGINAL_ROWS)
    assert cli("db", "adopt").exit_code == 0
    assert cli("app", "add", "Forum").exit_code == 0
    # The rest of a home (TLS, keys) comes from init, which leaves the adopted rows alone.
    init = cli("init")
    assert init.exit_code == 0, init.output
    assert f"at migration {head_revision()}" in init.stdout.split("already there")[1]
    expected = [*ORIGINAL_ROWS, (10, "Forum")]

    answers = answered_ids(home, [name for _, name in expected])

    assert answers == {name: original_answer(name, number) for number, name in expected}


def test_db_adopt_takes_a_myisam_latin1_table_to_innodb_utf8mb4_keeping_names(
    cli: Cli,
    home: Path,
    server_databases: dict[str, DatabaseServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if "mysql" not in server_databases:
        pytest.skip("PASSPORT_TEST_BACKENDS leaves out mysql")
    url = server_databases["mysql"].create("legacy")
    monkeypatch.setenv("PASSPORT_DATABASE_URL", url)
    make_original(url, "mysql", [(1, "Passport"), (3, "Café"), (9, "Blog")], LEGACY_MYSQL_OPTIONS)

    assert cli("db", "adopt").exit_code == 0
    added = cli("app", "add", "Überblick")
    assert cli("init").exit_code == 0

    assert "ID: 10" in lines_of(added.stdout)
    assert application_ids(url) == [(1, "Passport"), (3, "Café"), (9, "Blog"), (10, "Überblick")]
    engine = create_engine(normalise_url(url))
    try:
        options = inspect(engine).get_table_options("application_info")
    finally:
        engine.dispose()
    assert options["mysql_engine"] == "InnoDB"
    assert options["mysql_default charset"] == "utf8mb4"
    assert answered_ids(home, ["Café", "Überblick"]) == {
        "Café": original_answer("Café", 3),
        "Überblick": original_answer("Überblick", 10),
    }


def test_db_adopt_adds_the_passport_row_when_the_original_had_none(
    cli: Cli, backend: str, empty_database: str
) -> None:
    make_original(empty_database, backend, [(5, "Wiki"), (9, "Blog")])

    result = cli("db", "adopt")

    assert result.exit_code == 0, result.output
    assert "adopted: kept 2 application rows, IDs unchanged" in lines_of(result.stdout)
    assert "application 'Passport' added (ID 10)" in lines_of(result.stdout)
    assert application_ids(empty_database) == [(5, "Wiki"), (9, "Blog"), (10, "Passport")]


def test_db_adopt_refuses_a_database_passport_already_manages(
    cli: Cli, backend: str, empty_database: str
) -> None:
    assert cli("db", "upgrade").exit_code == 0
    versions = query(empty_database, "SELECT version_num FROM alembic_version")

    result = cli("db", "adopt")

    assert_one_line_error(result, "already managed by Passport", "passport db upgrade")
    assert query(empty_database, "SELECT version_num FROM alembic_version") == versions


def test_db_adopt_refuses_a_database_without_application_info(
    cli: Cli, empty_database: str
) -> None:
    result = cli("db", "adopt")

    assert_one_line_error(result, "no application_info table")
    engine = create_engine(normalise_url(empty_database))
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_db_upgrade_on_an_original_database_points_at_adopt(
    cli: Cli, backend: str, empty_database: str
) -> None:
    make_original(empty_database, backend, ORIGINAL_ROWS)

    result = cli("db", "upgrade")

    assert_one_line_error(result, "application_info", "passport db adopt")
    assert application_ids(empty_database) == ORIGINAL_ROWS
    engine = create_engine(normalise_url(empty_database))
    try:
        assert inspect(engine).get_table_names() == ["application_info"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [["run"], ["app", "list"], ["app", "add", "Wiki"]])
def test_commands_on_an_original_database_point_at_adopt(
    cli: Cli,
    backend: str,
    empty_database: str,
    home: Path,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PASSPORT_INSECURE_HTTP", "true")
    make_original(empty_database, backend, ORIGINAL_ROWS)

    result = cli(*command)

    assert_one_line_error(result, "original Passport service", "passport db adopt")
    assert application_ids(empty_database) == ORIGINAL_ROWS
