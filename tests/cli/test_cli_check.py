"""`passport check`: effective settings with secrets masked, database and migration state."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli, DatabaseServer, assert_one_line_error, execute, lines_of, sqlite_url
from sqlalchemy.engine import make_url

from passport.config import Settings
from passport.storage.migrate import head_revision

PASSWORD = "s3cret-Pa55"


def _with_password(url: str) -> str:
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def test_check_prints_every_setting_and_reports_all_well(cli: Cli, initialised: Path) -> None:
    result = cli("check")

    assert result.exit_code == 0, result.output
    output = lines_of(result.stdout)
    for name in Settings.model_fields:
        assert any(line.startswith(f"{name} = ") for line in output), name
    assert f"home = {initialised}" in output
    assert f"database_url = {sqlite_url(initialised)}" in output
    assert "public_url = https://127.0.0.1:8443" in output
    assert "port = 8443" in output
    assert "insecure_http = false" in output
    assert "database: answers" in output
    assert f"migrations: current ({head_revision()})" in output


def test_check_shows_flags_from_environment_and_toml(
    cli: Cli, initialised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (initialised / "passport.toml").write_text('port = 9443\nlog_format = "json"\n')
    monkeypatch.setenv("PASSPORT_PORT", "10443")

    result = cli("check")

    output = lines_of(result.stdout)
    assert "port = 10443" in output  # the environment wins over the file
    assert "log_format = json" in output


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_check_masks_the_database_password(
    cli: Cli,
    initialised: Path,
    server: str,
    server_databases: dict[str, DatabaseServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if server not in server_databases:
        pytest.skip(f"PASSPORT_TEST_BACKENDS leaves out {server}")
    url = _with_password(server_databases[server].create("check"))
    monkeypatch.setenv("PASSPORT_DATABASE_URL", url)

    result = cli("check")

    assert PASSWORD not in result.output
    masked = url.replace(PASSWORD, "***")
    assert f"database_url = {masked}" in lines_of(result.stdout)
    if server == "postgresql":
        # trust authentication ignores the password: the database answers, but is empty.
        assert "database: answers" in lines_of(result.stdout)
        assert any(line.startswith("migrations: problem:") for line in lines_of(result.stdout))
    else:
        # root has no password on the test server, so MariaDB refuses this one.
        (problem,) = [line for line in lines_of(result.stdout) if "database: problem" in line]
        assert f"database {masked} does not answer: Access denied" in problem
    assert result.exit_code == 1


def test_check_fails_before_init_without_creating_a_database(cli: Cli, home: Path) -> None:
    home.mkdir()

    result = cli("check")

    assert result.exit_code == 1
    output = lines_of(result.stdout)
    assert f"database: problem: no database at {home / 'passport.db'}: run `passport init`" in (
        output
    )
    assert any(line.startswith("tls: problem: TLS certificate") for line in output)
    assert list(home.iterdir()) == []


def test_check_fails_on_a_database_behind_the_migrations(cli: Cli, initialised: Path) -> None:
    execute(sqlite_url(initialised), "UPDATE alembic_version SET version_num = '0001'")

    result = cli("check")

    assert result.exit_code == 1
    assert (
        f"migrations: problem: the database is at migration 0001, this Passport needs "
        f"{head_revision()}: run `passport db upgrade`"
    ) in lines_of(result.stdout)


def test_check_reports_a_host_granian_cannot_bind(
    cli: Cli, initialised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_HOST", "localhost")

    result = cli("check")

    assert result.exit_code == 1
    assert_one_line_error(result, "PASSPORT_HOST", "must be an IP address")


def test_check_with_plain_http_needs_no_certificate(
    cli: Cli, initialised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (initialised / "tls" / "cert.pem").unlink()
    monkeypatch.setenv("PASSPORT_INSECURE_HTTP", "1")

    result = cli("check")

    assert result.exit_code == 0, result.output
    assert "public_url = http://127.0.0.1:8443" in lines_of(result.stdout)
