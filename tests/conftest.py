"""Shared fixtures: a database on each backend, settings, an app and a client.

Every storage test runs on SQLite, PostgreSQL and MariaDB. Each test session creates its own
PostgreSQL and MariaDB databases and drops them at the end. A backend that does not answer is
an error, never a silent skip; PASSPORT_TEST_BACKENDS narrows the list on purpose.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from passport.app import create_app
from passport.config import Settings
from passport.identity.applications import ApplicationService
from passport.identity.clock import Clock
from passport.services import Services
from passport.storage.database import Database
from passport.storage.engine import normalise_url
from passport.storage.migrate import upgrade
from passport.storage.tables import metadata
from passport.xkms.ca import create_ca
from passport.xkms.service_keys import create_service_key, data_key_path
from passport.xkms.vault import create_data_key

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "PASSPORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    # PyMySQL would build a TLS context (~90 ms) for every connection to a server without TLS.
    "mysql": os.environ.get(
        "PASSPORT_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/mysql?ssl_disabled=true"
    ),
}
BACKENDS = [
    name.strip()
    for name in os.environ.get("PASSPORT_TEST_BACKENDS", "sqlite,postgresql,mysql").split(",")
    if name.strip()
]


class ServerDatabases:
    """Creates and drops throwaway databases on a PostgreSQL or MariaDB server."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.admin_url = normalise_url(ADMIN_URLS[backend])
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, purpose: str) -> str:
        """A new empty database; returns its URL."""
        name = f"passport_test_{purpose}_{secrets.token_hex(4)}"
        with self.admin.connect() as connection:
            if self.backend == "mysql":
                connection.execute(
                    text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                )
            else:
                connection.execute(text(f"CREATE DATABASE {name}"))
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this object created."""
        with self.admin.connect() as connection:
            for name in self.created:
                if self.backend == "postgresql":
                    connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                else:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        self.admin.dispose()


@pytest.fixture(scope="session")
def server_databases() -> Iterator[dict[str, ServerDatabases]]:
    """One ServerDatabases per server backend under test; fails if a server is down."""
    servers: dict[str, ServerDatabases] = {}
    for backend in BACKENDS:
        if backend == "sqlite":
            continue
        server = ServerDatabases(backend)
        try:
            with server.admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure to connect fails the run loudly
            pytest.fail(f"{backend} at {make_url(ADMIN_URLS[backend])!r} does not answer: {exc}")
        servers[backend] = server
    yield servers
    for server in servers.values():
        server.drop_all()


@pytest.fixture(scope="session")
def migrated_templates(
    server_databases: dict[str, ServerDatabases], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Per backend, a database migrated to head once per session."""
    urls: dict[str, str] = {}
    for backend in BACKENDS:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("template") / "passport.db"
            url = f"sqlite:///{path}"
        else:
            url = server_databases[backend].create("shared")
        database = Database.from_url(url)
        upgrade(database)
        database.dispose()
        urls[backend] = url
    return urls


def _reset(database: Database) -> None:
    tables = list(reversed(metadata.sorted_tables))
    with database.write() as connection:
        if database.backend == "postgresql":
            names = ", ".join(table.name for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        elif database.backend == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
            for table in tables:
                connection.execute(text(f"TRUNCATE TABLE {table.name}"))
            connection.execute(text("SET FOREIGN_KEY_CHECKS = 1"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend a storage test runs on."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, migrated_templates: dict[str, str], tmp_path: Path) -> str:
    """A migrated, empty database on the test's backend (fresh for every test)."""
    if backend == "sqlite":
        source = Path(make_url(migrated_templates["sqlite"]).database or "")
        target = tmp_path / "passport.db"
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    url = migrated_templates[backend]
    database = Database.from_url(url)
    _reset(database)
    database.dispose()
    return url


@pytest.fixture
def empty_database_url(
    backend: str, server_databases: dict[str, ServerDatabases], tmp_path: Path
) -> str:
    """A new database on the test's backend that has never been migrated."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return server_databases[backend].create("empty")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A Database on a migrated, empty database."""
    database = Database.from_url(database_url)
    yield database
    database.dispose()


@pytest.fixture
def applications(database: Database) -> ApplicationService:
    """The application service, with the `Passport` row seeded as `passport init` does."""
    service = ApplicationService(database)
    service.ensure_passport()
    return service


@pytest.fixture(autouse=True)
def _xkms_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps in tests serve no XKMS unless a test gives its home the keys (`xkms_settings`)."""
    monkeypatch.setenv("PASSPORT_XKMS_ENABLED", "false")


@pytest.fixture(scope="session")
def xkms_key_material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home's `xkms/` folder (data key, service key and certificate), made once."""
    home = tmp_path_factory.mktemp("xkms-keys")
    create_data_key(data_key_path(home))
    create_service_key(home)
    create_ca(home)
    return home / "xkms"


@pytest.fixture
def xkms_settings(settings: Settings, xkms_key_material: Path) -> Settings:
    """The test's settings with XKMS served: the keys copied into its home."""
    shutil.copytree(xkms_key_material, settings.home / "xkms", dirs_exist_ok=True)
    return settings.model_copy(update={"xkms_enabled": True})


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for an app on the test's database."""
    return Settings(home=tmp_path, database_url=database_url, public_url="https://passport.test")


class FakeClock(Clock):
    """A clock tests move by hand: timeouts are tested without sleeping."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. advance(minutes=31)."""
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    """The clock the test's services read."""
    return FakeClock()


@pytest.fixture
def services(
    database: Database, applications: ApplicationService, settings: Settings, clock: FakeClock
) -> Services:
    """The services an app is built from, on the test's database and clock."""
    return Services.build(database, settings, clock)


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to a fresh app in-process (ASGI)."""
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as client:
        yield client
