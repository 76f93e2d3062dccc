"""`passport run` up to the point where it hands over to granian (which the e2e tests cover)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli, assert_one_line_error, execute, sqlite_url
from sqlalchemy import create_engine

from passport.config import Settings
from passport.web import server


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings `passport run` hands to the server, which is replaced by a recorder."""
    calls: list[Settings] = []
    monkeypatch.setattr(server, "serve", calls.append)
    # Nothing binds here, so whatever else listens on this machine does not matter.
    monkeypatch.setattr(server, "check_address_free", lambda _host, _port: None)
    return calls


def test_run_hands_its_flags_to_the_server(
    cli: Cli, initialised: Path, served: list[Settings]
) -> None:
    result = cli(
        "run",
        "--host",
        "0.0.0.0",  # noqa: S104 - a test of the flag, nothing binds
        "--port",
        "9000",
        "--workers",
        "3",
        "--insecure-http",
        "--public-url",
        "https://sso.example.com/",
        "--forwarded-allow-ips",
        "10.0.0.0/8",
        "--log-format",
        "json",
    )

    assert result.exit_code == 0, result.output
    (settings,) = served
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 9000, 3)  # noqa: S104
    assert settings.insecure_http is True
    assert settings.effective_public_url == "https://sso.example.com"
    assert settings.trusted_proxies == ("10.0.0.0/8",)
    assert settings.log_format == "json"
    assert result.stdout.splitlines() == [
        f"Passport listening on http://0.0.0.0:9000 (3 workers; public URL "
        f"https://sso.example.com; database {sqlite_url(initialised)})"
    ]


def test_run_without_flags_keeps_the_environment_settings(
    cli: Cli, initialised: Path, served: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_INSECURE_HTTP", "true")
    monkeypatch.setenv("PASSPORT_PORT", "9080")

    result = cli("run")

    assert result.exit_code == 0, result.output
    (settings,) = served
    assert settings.insecure_http is True
    assert settings.port == 9080
    assert "listening on http://127.0.0.1:9080 (1 worker;" in result.stdout


def test_run_without_a_certificate_is_one_line_and_serves_nothing(
    cli: Cli, initialised: Path, served: list[Settings]
) -> None:
    (initialised / "tls" / "cert.pem").unlink()

    result = cli("run")

    assert_one_line_error(result, f"TLS certificate {initialised / 'tls' / 'cert.pem'} not found")
    assert result.stdout == ""
    assert served == []


def test_run_refuses_a_database_behind_the_migrations(
    cli: Cli, initialised: Path, served: list[Settings]
) -> None:
    execute(sqlite_url(initialised), "UPDATE alembic_version SET version_num = '0001'")

    result = cli("run")

    assert_one_line_error(result, "at migration 0001", "run `passport db upgrade`")
    assert served == []


def test_run_refuses_an_empty_database(
    cli: Cli, home: Path, served: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir()
    create_engine(sqlite_url(home)).connect().close()  # an empty database file
    monkeypatch.setenv("PASSPORT_INSECURE_HTTP", "true")

    result = cli("run")

    assert_one_line_error(result, "the database is empty: run `passport init`")
    assert served == []


def test_run_before_init_points_at_init(cli: Cli, home: Path, served: list[Settings]) -> None:
    result = cli("run", "--insecure-http")

    assert_one_line_error(result, "run `passport init` first")
    assert served == []


def test_run_refuses_a_host_name(cli: Cli, initialised: Path, served: list[Settings]) -> None:
    result = cli("run", "--host", "localhost")

    assert_one_line_error(result, "PASSPORT_HOST", "must be an IP address")
    assert served == []
