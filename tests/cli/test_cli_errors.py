"""Every expected failure is one `passport: error:` line and exit status 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Cli, assert_one_line_error

from passport import __version__

BAD_SETTINGS = [
    ("PASSPORT_PORT", "99999", "less than or equal to 65535"),
    ("PASSPORT_PUBLIC_URL", "ftp://passport.example", "scheme http or https"),
    ("PASSPORT_PUBLIC_URL", "https://passport.example/path", "no path"),
    ("PASSPORT_WORKERS", "0", "greater than or equal to 1"),
    ("PASSPORT_DATABASE_URL", "oracle://scott@db/orcl", "sqlite://, postgresql://"),
    ("PASSPORT_DATABASE_URL", "postgresql://passport:pw@[db/passport", "Invalid IPv6 URL"),
    ("PASSPORT_FORWARDED_ALLOW_IPS", "10.0.0.0/8,proxy", "'proxy' is not an IP address"),
    ("PASSPORT_LOG_FORMAT", "xml", "'console' or 'json'"),
]


@pytest.mark.parametrize("command", [["check"], ["run"], ["init"], ["app", "list"]])
@pytest.mark.parametrize(("name", "value", "reason"), BAD_SETTINGS)
def test_bad_setting_is_one_line_naming_it(
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    command: list[str],
    name: str,
    value: str,
    reason: str,
) -> None:
    monkeypatch.setenv(name, value)

    result = cli(*command)

    assert_one_line_error(result, f"invalid setting {name}: ", reason)
    assert result.stdout == ""
    assert not home.exists()


def test_bad_flag_value_is_one_line_naming_the_setting(cli: Cli) -> None:
    result = cli("run", "--port", "0")

    assert_one_line_error(result, "invalid setting PASSPORT_PORT: ")


def test_unknown_setting_in_passport_toml_is_named(cli: Cli, home: Path) -> None:
    home.mkdir()
    (home / "passport.toml").write_text("port = 9443\nlisten_port = 9443\n")

    result = cli("check")

    assert_one_line_error(result, "unknown setting 'listen_port' in passport.toml")


def test_unreadable_passport_toml_is_one_line(cli: Cli, home: Path) -> None:
    home.mkdir()
    (home / "passport.toml").write_text("port = \n")

    result = cli("check")

    assert_one_line_error(result, "cannot read passport.toml")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://passport:s3cret-Pa55@127.0.0.1:1/passport",
            "postgresql://passport:***@127.0.0.1:1/passport",
        ),
        (
            "mysql://passport:s3cret-Pa55@127.0.0.1:1/passport",
            "mysql://passport:***@127.0.0.1:1/passport",
        ),
    ],
)
def test_unreachable_database_is_named_with_its_password_masked(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, url: str, shown: str
) -> None:
    monkeypatch.setenv("PASSPORT_DATABASE_URL", url)

    result = cli("app", "list")

    line = assert_one_line_error(result, f"database {shown} does not answer: ")
    assert "refused" in line.lower()
    assert "s3cret-Pa55" not in result.output


def test_version_names_the_installed_version(cli: Cli) -> None:
    result = cli("--version")

    assert result.exit_code == 0
    assert result.stdout == f"passport, version {__version__}\n"


def test_unknown_command_is_a_usage_error_without_traceback(cli: Cli) -> None:
    result = cli("frobnicate")

    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.stderr
    assert "Traceback" not in result.output


def test_the_command_line_loads_neither_the_app_nor_prometheus_client() -> None:
    # `passport run` forks granian workers from its own process; prometheus_client must be
    # first imported after run sets PROMETHEUS_MULTIPROC_DIR, or every worker counts alone.
    probe = (
        "import sys, passport.cli.main; "
        "print(sorted(m for m in ('prometheus_client', 'passport.app') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
