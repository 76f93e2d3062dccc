"""`passport app add|list`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cli_helpers import Cli, assert_one_line_error, query, sqlite_url


def test_app_add_prints_id_and_secret_once_and_stores_only_its_hash(
    cli: Cli, initialised: Path
) -> None:
    result = cli("app", "add", "Wiki", "--origin", "https://wiki.example:443")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "ID: 2" in lines
    (secret_line,) = [line for line in lines if line.startswith("Secret: ")]
    secret = secret_line.removeprefix("Secret: ")
    assert len(secret) >= 43  # 256 bits, URL-safe base64
    assert any("shown only this once" in line for line in lines)
    url = sqlite_url(initialised)
    assert query(url, "SELECT name, secret_hash FROM application_info WHERE applicationid = 2") == [
        ("Wiki", hashlib.sha256(secret.encode()).hexdigest())
    ]
    assert query(url, "SELECT origin FROM application_origin") == [("https://wiki.example",)]
    listing = cli("app", "list")
    assert secret not in listing.output


def test_app_add_gives_each_application_its_own_secret(cli: Cli, initialised: Path) -> None:
    first = cli("app", "add", "Wiki").stdout
    second = cli("app", "add", "Blog").stdout

    def secret_of(output: str) -> str:
        return next(line for line in output.splitlines() if line.startswith("Secret: "))

    assert secret_of(first) != secret_of(second)


def test_app_list_shows_id_name_and_origins(cli: Cli, initialised: Path) -> None:
    cli(
        "app",
        "add",
        "Wiki",
        "--origin",
        "https://wiki.example",
        "--origin",
        "http://localhost:3000",
    )
    cli("app", "add", "Blog")

    result = cli("app", "list")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ID  NAME      ORIGINS",
        " 1  Passport  -",
        " 2  Wiki      http://localhost:3000, https://wiki.example",
        " 3  Blog      -",
    ]


def test_app_add_refuses_an_existing_name_in_any_case(cli: Cli, initialised: Path) -> None:
    assert cli("app", "add", "Wiki").exit_code == 0

    result = cli("app", "add", "WIKI")

    assert_one_line_error(result, "An application named 'Wiki' already exists.")
    assert "Secret" not in result.output
    assert query(sqlite_url(initialised), "SELECT COUNT(*) FROM application_info") == [(2,)]


def test_app_add_refuses_passport_itself(cli: Cli, initialised: Path) -> None:
    result = cli("app", "add", "passport")

    assert_one_line_error(result, "'Passport' already exists")


def test_app_add_refuses_a_bad_origin_and_adds_nothing(cli: Cli, initialised: Path) -> None:
    result = cli("app", "add", "Wiki", "--origin", "https://wiki.example/path")

    assert_one_line_error(result, "Origin 'https://wiki.example/path' must be scheme://host")
    assert query(sqlite_url(initialised), "SELECT COUNT(*) FROM application_info") == [(1,)]


def test_app_add_refuses_a_blank_name(cli: Cli, initialised: Path) -> None:
    result = cli("app", "add", "   ")

    assert_one_line_error(result, "Application name must be specified.")


def test_app_commands_before_init_point_at_init_and_make_no_database(cli: Cli, home: Path) -> None:
    home.mkdir()

    assert_one_line_error(cli("app", "list"), f"no database at {home / 'passport.db'}", "init")
    assert_one_line_error(cli("app", "add", "Wiki"), "passport init")
    assert list(home.iterdir()) == []
