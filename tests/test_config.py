"""Settings: environment, passport.toml in the home, overrides; one clear line when wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from passport.config import (
    Settings,
    SettingsError,
    load_settings,
    mask_url_password,
)

WILDCARD = "0.0.0.0"  # noqa: S104 - binding to every interface is the case under test


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PASSPORT_* variable from outside; the home is an empty temporary folder."""
    for name in list(os.environ):
        if name.startswith("PASSPORT_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PASSPORT_HOME", str(home))
    return home


def write_toml(home: Path, text: str) -> None:
    (home / "passport.toml").write_text(text, encoding="utf-8")


def test_defaults(clean_environment: Path) -> None:
    settings = load_settings()
    assert settings.home == clean_environment
    assert settings.host == "127.0.0.1"
    assert settings.port == 8443
    assert settings.insecure_http is False
    assert settings.json_max_bytes == 64 * 1024
    assert settings.effective_database_url == (
        f"sqlite:///{(clean_environment / 'passport.db').resolve()}"
    )


def test_environment_sets_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_PORT", "9443")
    monkeypatch.setenv("PASSPORT_LOG_FORMAT", "json")
    settings = load_settings()
    assert settings.port == 9443
    assert settings.log_format == "json"


def test_toml_in_the_home_sets_a_setting(clean_environment: Path) -> None:
    write_toml(clean_environment, 'port = 9000\npublic_url = "https://sso.example"\n')
    settings = load_settings()
    assert settings.port == 9000
    assert settings.effective_public_url == "https://sso.example"


def test_environment_beats_toml(clean_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(clean_environment, "port = 9000\nworkers = 3\n")
    monkeypatch.setenv("PASSPORT_PORT", "9001")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.workers == 3


def test_overrides_beat_environment_and_toml(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(clean_environment, "port = 9000\n")
    monkeypatch.setenv("PASSPORT_PORT", "9001")
    assert load_settings(port=9002).port == 9002


def test_override_of_none_leaves_the_lower_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_PORT", "9001")
    assert load_settings(port=None).port == 9001


def test_toml_is_read_from_an_explicit_home(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    write_toml(other, "port = 7443\n")
    settings = load_settings(home=other)
    assert settings.home == other
    assert settings.port == 7443


def test_database_url_chooses_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://passport:pw@db.example/passport"
    monkeypatch.setenv("PASSPORT_DATABASE_URL", url)
    assert load_settings().effective_database_url == url


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "https://127.0.0.1:8443"),
        ({"insecure_http": True}, "http://127.0.0.1:8443"),
        ({"host": WILDCARD}, "https://127.0.0.1:8443"),
        ({"host": "::"}, "https://127.0.0.1:8443"),
        ({"host": "192.0.2.10", "port": 443}, "https://192.0.2.10"),
        ({"host": "192.0.2.10", "port": 80, "insecure_http": True}, "http://192.0.2.10"),
        ({"host": "192.0.2.10", "port": 80}, "https://192.0.2.10:80"),
        ({"host": "::1", "port": 8443}, "https://[::1]:8443"),
    ],
)
def test_effective_public_url_defaults_from_host_port_and_tls(
    overrides: dict[str, object], expected: str
) -> None:
    assert load_settings(**overrides).effective_public_url == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://sso.example", "https://sso.example"),
        ("https://sso.example/", "https://sso.example"),
        ("http://sso.example:8080", "http://sso.example:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://SSO.Example", "https://sso.example"),
        ("https://sso.example:443", "https://sso.example"),
        ("http://sso.example:80", "http://sso.example"),
        ("http://sso.example:443", "http://sso.example:443"),
    ],
)
def test_public_url_setting_wins_and_is_normalised(given: str, expected: str) -> None:
    settings = load_settings(public_url=given, host=WILDCARD, port=1234)
    assert settings.effective_public_url == expected


def error_line(**overrides: object) -> str:
    with pytest.raises(SettingsError) as raised:
        load_settings(**overrides)
    message = str(raised.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "public_url",
    [
        "sso.example",
        "ftp://sso.example",
        "https://",
        "https://sso.example/path",
        "https://sso.example?x=1",
        "https://user@sso.example",
        "https://sso.example:99999",
    ],
)
def test_invalid_public_url_is_one_line_naming_the_setting(public_url: str) -> None:
    assert error_line(public_url=public_url).startswith("invalid setting PASSPORT_PUBLIC_URL: ")


@pytest.mark.parametrize(
    "url",
    [
        "oracle://db/x",
        "passport.db",
        "http://db.example",
        "postgresql+asyncpg://u@db/x",
        "sqlite+aiosqlite:///x.db",
        "mysql+aiomysql://u@db/x",
        "postgresql://x:y@[bad",
        "mysql://u@db:99999/x",
    ],
)
def test_invalid_database_url_is_one_line_naming_the_setting(url: str) -> None:
    message = error_line(database_url=url)
    assert message.startswith("invalid setting PASSPORT_DATABASE_URL: ")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.db",
        "postgresql://u@db/x",
        "postgres://u@db/x",
        "postgresql+psycopg://u@db/x",
        "mysql://u@db/x",
        "mariadb://u@db/x",
        "mysql+pymysql://u@db/x",
    ],
)
def test_supported_database_urls_are_accepted(url: str) -> None:
    assert load_settings(database_url=url).effective_database_url == url


def test_invalid_database_url_message_does_not_show_its_password() -> None:
    message = error_line(database_url="oracle://admin:hunter2@db/x")
    assert "hunter2" not in message


@pytest.mark.parametrize("host", ["localhost", "sso.example", "", "127.0.0.1:8443"])
def test_a_listen_host_must_be_an_ip_address(host: str) -> None:
    message = error_line(host=host)
    assert message.startswith("invalid setting PASSPORT_HOST: must be an IP address")


@pytest.mark.parametrize("port", ["0", "65536", "-1", "https", "8443.5"])
def test_invalid_port_from_the_environment_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, port: str
) -> None:
    monkeypatch.setenv("PASSPORT_PORT", port)
    assert error_line().startswith("invalid setting PASSPORT_PORT: ")


@pytest.mark.parametrize("value", ["not-an-ip", "10.0.0.0/33", "1.2.3.4, bogus"])
def test_invalid_forwarded_allow_ips_names_the_setting(value: str) -> None:
    message = error_line(forwarded_allow_ips=value)
    assert message.startswith("invalid setting PASSPORT_FORWARDED_ALLOW_IPS: ")


@pytest.mark.parametrize("value", ["127.0.0.1", "10.0.0.0/8, ::1", "*", ""])
def test_valid_forwarded_allow_ips_are_parsed(value: str) -> None:
    settings = load_settings(forwarded_allow_ips=value)
    assert settings.trusted_proxies == tuple(p.strip() for p in value.split(",") if p.strip())


def test_unknown_toml_key_is_one_line_naming_it(clean_environment: Path) -> None:
    write_toml(clean_environment, "prot = 8443\n")
    assert error_line() == "unknown setting 'prot' in passport.toml"


def test_invalid_toml_value_names_the_setting(clean_environment: Path) -> None:
    write_toml(clean_environment, 'port = "high"\n')
    assert error_line().startswith("invalid setting PASSPORT_PORT: ")


def test_unparseable_toml_is_one_line(clean_environment: Path) -> None:
    write_toml(clean_environment, "port = = 1\n")
    assert error_line().startswith("cannot read passport.toml: ")


def test_tls_cert_without_key_is_refused(tmp_path: Path) -> None:
    message = error_line(tls_cert=tmp_path / "cert.pem")
    assert "tls_cert and tls_key" in message


def test_tls_files_default_to_the_home(clean_environment: Path) -> None:
    settings = load_settings()
    assert settings.tls_cert_path == clean_environment / "tls" / "cert.pem"
    assert settings.tls_key_path == clean_environment / "tls" / "key.pem"


def test_masked_hides_a_database_password() -> None:
    settings = load_settings(database_url="postgresql://passport:s3cret@db.example:5432/passport")
    masked = settings.masked()
    assert masked["database_url"] == "postgresql://passport:***@db.example:5432/passport"
    assert "s3cret" not in repr(masked)


def test_masked_shows_effective_values(clean_environment: Path) -> None:
    masked = load_settings().masked()
    assert masked["public_url"] == "https://127.0.0.1:8443"
    assert masked["database_url"].startswith("sqlite:///")
    assert masked["tls_cert"] == clean_environment / "tls" / "cert.pem"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("mysql://root:pw@127.0.0.1/passport", "mysql://root:***@127.0.0.1/passport"),
        ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
        ("postgresql://user@h/db", "postgresql://user@h/db"),
        ("sqlite:///var/passport.db", "sqlite:///var/passport.db"),
        ("mysql://u:p%40ss@h/db?charset=utf8mb4", "mysql://u:***@h/db?charset=utf8mb4"),
    ],
)
def test_mask_url_password(url: str, masked: str) -> None:
    assert mask_url_password(url) == masked


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1  # type: ignore[misc]
