"""`passport init`: what it makes, with which modes, and that a second run changes nothing."""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import (
    Cli,
    DatabaseServer,
    assert_one_line_error,
    execute,
    lines_of,
    query,
    sqlite_url,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from passport.storage.migrate import head_revision

CURL_EXAMPLE = "curl -k 'https://127.0.0.1:8443/Service/getApplication?name=Passport'"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _snapshot(home: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under the home: its bytes, modification time and mode."""
    return {
        str(path.relative_to(home)): (path.read_bytes(), path.stat().st_mtime_ns, _mode(path))
        for path in sorted(home.rglob("*"))
        if path.is_file()
    }


def test_init_makes_home_database_passport_row_and_tls_pair(cli: Cli, home: Path) -> None:
    result = cli("init")

    assert result.exit_code == 0, result.output
    assert _mode(home) == 0o700
    assert _mode(home / "tls" / "key.pem") == 0o600
    assert _mode(home / "tls") == 0o700
    url = sqlite_url(home)
    assert query(url, "SELECT applicationid, name FROM application_info") == [(1, "Passport")]
    assert query(url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    output = lines_of(result.stdout)
    assert f"home folder {home} (mode 0700)" in output
    assert f"database {url} at migration {head_revision()}" in output
    assert "application 'Passport' (ID 1)" in output
    assert f"TLS key {home / 'tls' / 'key.pem'} (mode 0600)" in output
    assert any(line.startswith(f"TLS certificate {home / 'tls' / 'cert.pem'}") for line in output)
    assert output[-2:] == ["passport run", CURL_EXAMPLE]


def test_init_key_is_pkcs8_and_certificate_names_loopback_and_is_valid_now(
    initialised: Path,
) -> None:
    key_pem = (initialised / "tls" / "key.pem").read_bytes()
    certificate = x509.load_pem_x509_certificate((initialised / "tls" / "cert.pem").read_bytes())

    # granian reads only PKCS#8 ("BEGIN PRIVATE KEY"), not SEC1 ("BEGIN EC PRIVATE KEY").
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert certificate.public_key() == key.public_key()
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    now = datetime.now(UTC)
    assert certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_init_twice_changes_nothing_and_says_so(cli: Cli, initialised: Path) -> None:
    url = sqlite_url(initialised)
    files_before = _snapshot(initialised)
    rows_before = query(url, "SELECT applicationid, name, secret_hash FROM application_info")

    result = cli("init")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"already initialised: {initialised}; nothing changed\n")
    assert "made:" not in result.stdout
    assert _snapshot(initialised) == files_before
    assert query(url, "SELECT applicationid, name, secret_hash FROM application_info") == (
        rows_before
    )


def test_init_makes_only_the_missing_certificate_from_the_existing_key(
    cli: Cli, initialised: Path
) -> None:
    key_path = initialised / "tls" / "key.pem"
    cert_path = initialised / "tls" / "cert.pem"
    key_before = (key_path.read_bytes(), key_path.stat().st_mtime_ns)
    cert_path.unlink()

    result = cli("init")

    assert result.exit_code == 0, result.output
    made, found = result.stdout.split("already there, left as it was:\n")
    assert f"TLS certificate {cert_path}" in made
    assert "TLS key" not in made
    assert "database" not in made
    assert f"TLS key {key_path}" in found
    assert (key_path.read_bytes(), key_path.stat().st_mtime_ns) == key_before
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_before[0], password=None)
    assert certificate.public_key() == key.public_key()


def test_init_adds_a_missing_passport_row_and_keeps_the_others(cli: Cli, initialised: Path) -> None:
    url = sqlite_url(initialised)
    assert cli("app", "add", "Wiki").exit_code == 0
    execute(url, "DELETE FROM application_info WHERE name = 'Passport'")

    result = cli("init")

    assert result.exit_code == 0, result.output
    made = result.stdout.split("already there")[0]
    assert "application 'Passport' (ID 3)" in made
    assert query(url, "SELECT applicationid, name FROM application_info ORDER BY 1") == [
        (2, "Wiki"),
        (3, "Passport"),
    ]


def test_init_refuses_a_certificate_without_its_key_and_makes_nothing(cli: Cli, home: Path) -> None:
    (home / "tls").mkdir(parents=True)
    (home / "tls" / "cert.pem").write_bytes(b"someone's certificate")

    result = cli("init")

    assert_one_line_error(result, "cert.pem exists but its key", "key.pem does not")
    assert sorted(path.name for path in home.rglob("*")) == ["cert.pem", "tls"]
    assert (home / "tls" / "cert.pem").read_bytes() == b"someone's certificate"


def test_init_with_home_option_says_how_to_point_run_at_it(cli: Cli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "deep" / "elsewhere"

    result = cli("init", "--home", str(elsewhere))

    assert result.exit_code == 0, result.output
    assert _mode(elsewhere) == 0o700
    assert (elsewhere / "passport.db").is_file()
    assert f"export PASSPORT_HOME={elsewhere}" in lines_of(result.stdout)


def test_init_with_own_certificate_setting_writes_no_tls_files(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PASSPORT_TLS_CERT", str(tmp_path / "mine.crt"))
    monkeypatch.setenv("PASSPORT_TLS_KEY", str(tmp_path / "mine.key"))

    result = cli("init")

    assert result.exit_code == 0, result.output
    assert not (home / "tls").exists()
    assert not (tmp_path / "mine.key").exists()
    assert f"your TLS certificate {tmp_path / 'mine.crt'} (init writes none)" in result.stdout


def _service_key_bits(home: Path) -> int:
    key = serialization.load_pem_private_key(
        (home / "xkms" / "service-key.pem").read_bytes(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.key_size


def test_init_makes_an_rsa_3072_service_key_by_default(cli: Cli, home: Path) -> None:
    result = cli("init")

    assert result.exit_code == 0, result.output
    assert _service_key_bits(home) == 3072
    assert f"XKMS service signing key {home / 'xkms' / 'service-key.pem'} (RSA-3072," in (
        result.stdout
    )


def test_init_makes_the_service_key_of_the_configured_size(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_XKMS_SERVICE_KEY_BITS", "2048")

    result = cli("init")

    assert result.exit_code == 0, result.output
    assert _service_key_bits(home) == 2048
    assert "(RSA-2048, mode 0600)" in result.stdout


def test_init_refuses_a_service_key_size_it_does_not_offer_and_makes_nothing(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_XKMS_SERVICE_KEY_BITS", "1024")

    result = cli("init")

    assert_one_line_error(result, "PASSPORT_XKMS_SERVICE_KEY_BITS", "2048, 3072, 4096")
    assert not home.exists()


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_init_on_a_server_database_migrates_and_seeds_it_once(
    cli: Cli,
    home: Path,
    server: str,
    server_databases: dict[str, DatabaseServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if server not in server_databases:
        pytest.skip(f"PASSPORT_TEST_BACKENDS leaves out {server}")
    url = server_databases[server].create("init")
    monkeypatch.setenv("PASSPORT_DATABASE_URL", url)

    first = cli("init")
    second = cli("init")

    assert first.exit_code == 0, first.output
    assert f"migrated to {head_revision()} (was empty)" in first.stdout
    assert not (home / "passport.db").exists()
    assert query(url, "SELECT applicationid, name FROM application_info") == [(1, "Passport")]
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.stdout
    assert query(url, "SELECT applicationid, name FROM application_info") == [(1, "Passport")]
