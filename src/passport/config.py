"""Passport's settings: environment `PASSPORT_*`, `PASSPORT_HOME/passport.toml`, CLI flags.

Precedence, highest first: values passed in code (the CLI's flags), environment variables,
the TOML file in the home folder, defaults.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_HOME = Path("var")
SETTINGS_FILE = "passport.toml"
SECRET_FIELDS = frozenset({"database_url"})
# RSA sizes the XKMS service signing key may have, and the one it has unless set.
SERVICE_KEY_SIZES = (2048, 3072, 4096)
DEFAULT_SERVICE_KEY_BITS = 3072


def check_service_key_bits(bits: int) -> int:
    """`bits` when the XKMS service key may have that size; ValueError otherwise."""
    if bits not in SERVICE_KEY_SIZES:
        sizes = ", ".join(str(size) for size in SERVICE_KEY_SIZES)
        raise ValueError(f"must be one of {sizes}, not {bits}")
    return bits


_DEFAULT_PORTS = {"http": 80, "https": 443}
# Drivers Passport runs with, per backend; storage.engine uses psycopg 3 and PyMySQL.
_DRIVERS = {
    "sqlite": ("", "pysqlite"),
    "postgresql": ("", "psycopg", "psycopg2"),
    "postgres": ("", "psycopg", "psycopg2"),
    "mysql": ("", "pymysql", "mysqldb"),
    "mariadb": ("", "pymysql", "mysqldb"),
}


class SettingsError(Exception):
    """A setting is invalid; the message names it and says why, in one line."""


def home_from_environment() -> Path:
    """The Passport home folder as the environment names it (before settings load)."""
    return Path(os.environ.get("PASSPORT_HOME") or DEFAULT_HOME)


class Settings(BaseSettings):
    """Every setting Passport reads. Field names map to `PASSPORT_<NAME>` variables."""

    model_config = SettingsConfigDict(
        env_prefix="PASSPORT_",
        extra="forbid",
        validate_default=True,
        frozen=True,
    )

    home: Path = Field(default=DEFAULT_HOME, description="Folder for the database, keys, certs")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file passport.db in the home"
    )
    public_url: str | None = Field(
        default=None,
        description="Passport's own external address, scheme://host[:port]; "
        "default from host, port and TLS mode",
    )
    host: str = Field(default="127.0.0.1", description="Address `passport run` listens on")
    port: int = Field(default=8443, ge=1, le=65535, description="Port `passport run` listens on")
    workers: int = Field(default=1, ge=1, le=256, description="Worker processes")
    insecure_http: bool = Field(
        default=False, description="Serve plain HTTP (only behind a TLS-terminating proxy)"
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate; default home/tls")
    tls_key: Path | None = Field(default=None, description="PEM PKCS#8 key; default home/tls")
    forwarded_allow_ips: str = Field(
        default="",
        description="Proxy addresses or networks trusted for X-Forwarded-For/-Proto, "
        "comma-separated ('*' = any)",
    )
    json_max_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest JSON body")
    soap_max_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest SOAP body")
    soap_services: list[str] = Field(
        default_factory=list,
        description='More SOAP services to host, as "package.module:factory"',
    )
    trace_file: Path | None = Field(
        default=None, description="Append every SOAP message received and sent to this file"
    )
    log_format: Literal["console", "json"] = Field(
        default="console", description="Log rendering: console (development) or json"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    debug: bool = Field(default=False, description="Show backtraces in SOAP fault details")
    server_header: bool = Field(default=True, description="Send a Server header naming Passport")
    db_pool_size: int = Field(default=10, ge=1, le=1000, description="Connections per worker")
    session_idle_minutes: int = Field(
        default=30, ge=1, le=7 * 24 * 60, description="A session ends after this long unused"
    )
    session_absolute_hours: int = Field(
        default=12, ge=1, le=90 * 24, description="A session ends this long after login"
    )
    self_registration: bool = Field(
        default=False, description="Let anyone create an account with POST /Account/register"
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=1000, description="Failed logins before an account locks out"
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="First lockout; each next one doubles"
    )
    login_address_max_failures: int = Field(
        default=20, ge=1, le=100_000, description="Failed logins per client address per window"
    )
    login_address_window_minutes: int = Field(
        default=5, ge=1, le=24 * 60, description="Window of the per-address limit"
    )
    password_hash_concurrency: int = Field(
        default=0,
        ge=0,
        le=256,
        description="Parallel argon2 verifications per worker (0: cores / workers, at least 1)",
    )
    xkms_enabled: bool = Field(
        default=True, description="Serve the XKMS service (needs the keys `passport init` makes)"
    )
    xkms_path: str = Field(
        default="/xkms",
        pattern=r"^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$",
        description="Path of the XKMS endpoint",
    )
    xkms_min_rsa_bits: int = Field(
        default=2048, ge=512, le=16384, description="Smallest RSA key XKMS registers or trusts"
    )
    xkms_legacy_sha1: bool = Field(
        default=False,
        description="Accept RSA-SHA1 signatures and SHA-1 digests (old XKMS clients)",
    )
    xkms_accept_hmac_sha1: bool = Field(
        default=True,
        description="Accept KeyBindingAuthentication with HMAC-SHA1 (as the Recommendation's "
        "samples use)",
    )
    xkms_clock_skew_seconds: int = Field(
        default=300, ge=0, le=86400, description="Clock difference tolerated with XKMS clients"
    )
    xkms_default_validity_days: int = Field(
        default=365, ge=1, le=36500, description="Validity of a key binding that asks for none"
    )
    xkms_require_signed_requests: bool = Field(
        default=False, description="Refuse XKMS requests that carry no valid ds:Signature"
    )
    xkms_trusted_client_keys: list[str] = Field(
        default_factory=list,
        description="SHA-256 fingerprints (hex) of client keys whose signed requests count",
    )
    xkms_service_key_bits: int = Field(
        default=DEFAULT_SERVICE_KEY_BITS,
        description="Size of the RSA key that signs XKMS results, made by `passport init` "
        "and `passport keys rotate` (a smaller key signs faster)",
    )
    xkms_generated_key_bits: int = Field(
        default=2048, ge=2048, le=8192, description="Size of the RSA keys Passport generates"
    )
    xkms_private_key_cipher: Literal["tripledes-cbc", "aes128-cbc"] = Field(
        default="tripledes-cbc",
        description="How a server-generated PrivateKey is encrypted for the client",
    )
    xkms_keep_recovered: bool = Field(
        default=False, description="Leave a binding valid after Recover (default: revoke it)"
    )
    xkms_two_phase: list[
        Literal["Locate", "Validate", "Register", "Reissue", "Revoke", "Recover"]
    ] = Field(
        default_factory=list,
        description="Operations that need the two-phase (Represent) protocol",
    )
    xkms_approval: list[Literal["Register", "Reissue", "Revoke", "Recover"]] = Field(
        default_factory=list,
        description="Operations that wait for an administrator's approval (asynchronous)",
    )
    xkms_nonce_seconds: int = Field(
        default=300, ge=10, le=86400, description="How long a two-phase nonce stays valid"
    )
    xkms_accepted_services: list[str] = Field(
        default_factory=list,
        description="Service URIs accepted in requests besides PASSPORT_PUBLIC_URL + xkms_path",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _home_for_sources(init_settings) / SETTINGS_FILE
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be scheme://host[:port] with scheme http or https")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError("must be scheme://host[:port] with no path, query or user")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError("has an invalid port") from exc
        if port == _DEFAULT_PORTS[parts.scheme]:
            # Browsers send Origin without a default port, and the CSRF check compares them.
            port = None
        netloc = parts.hostname if port is None else f"{_bracket(parts.hostname)}:{port}"
        if port is None and ":" in parts.hostname:
            netloc = _bracket(parts.hostname)
        return f"{parts.scheme}://{netloc}"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        backend, _, driver = scheme.partition("+")
        if backend not in _DRIVERS:
            raise ValueError("must be a sqlite://, postgresql:// or mysql:// URL")
        if driver not in _DRIVERS[backend]:
            raise ValueError(f"driver {driver!r} is not supported; write {backend}:// alone")
        try:
            urlsplit(value).port  # noqa: B018 - reading it validates host and port
        except ValueError as exc:
            raise ValueError(f"is not a valid URL ({exc})") from None
        return value

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                "must be an IP address such as 127.0.0.1, 0.0.0.0 or :: (not a host name)"
            ) from None
        return value

    @field_validator("xkms_service_key_bits")
    @classmethod
    def _check_service_key_bits(cls, value: int) -> int:
        return check_service_key_bits(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if item and item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value

    @model_validator(mode="after")
    def _check_tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        return self

    # Derived values -------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the setting, or the SQLite file in the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'passport.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """Passport's external origin; links, WSDL addresses and CSRF checks use it."""
        if self.public_url:
            return self.public_url
        scheme = "http" if self.insecure_http else "https"
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind is reached by loopback
            host = "127.0.0.1"
        default_port = 80 if self.insecure_http else 443
        netloc = _bracket(host) if self.port == default_port else f"{_bracket(host)}:{self.port}"
        return f"{scheme}://{netloc}"

    @property
    def tls_cert_path(self) -> Path:
        """The TLS certificate `passport run` serves."""
        return self.tls_cert or self.home / "tls" / "cert.pem"

    @property
    def tls_key_path(self) -> Path:
        """The TLS private key `passport run` serves."""
        return self.tls_key or self.home / "tls" / "key.pem"

    @property
    def trusted_proxies(self) -> tuple[str, ...]:
        """Parsed `forwarded_allow_ips`."""
        return tuple(part.strip() for part in self.forwarded_allow_ips.split(",") if part.strip())

    def masked(self) -> dict[str, Any]:
        """The effective settings, with secrets (such as a database password) masked."""
        values: dict[str, Any] = {}
        for name in type(self).model_fields:
            values[name] = getattr(self, name)
        values["database_url"] = mask_url_password(self.effective_database_url)
        values["public_url"] = self.effective_public_url
        values["tls_cert"] = self.tls_cert_path
        values["tls_key"] = self.tls_key_path
        return values


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _home_for_sources(init_settings: PydanticBaseSettingsSource) -> Path:
    explicit = init_settings().get("home")
    if explicit is not None:
        return Path(explicit)
    return home_from_environment()


def mask_url_password(url: str) -> str:
    """Replace the password in a database URL with `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username}:***" if parts.username else ":***"
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{userinfo}@{host}").geturl()


def load_settings(**overrides: Any) -> Settings:
    """Load settings; overrides (CLI flags) win. Raises SettingsError with one clear line."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise SettingsError(f"cannot read {SETTINGS_FILE}: {exc}") from None


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    name = f"PASSPORT_{location.upper()}" if location else "settings"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown setting {location!r} in {SETTINGS_FILE}"
    return f"invalid setting {name}: {message}"
