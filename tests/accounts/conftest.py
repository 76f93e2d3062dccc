"""Fixtures for the accounts tests: factories, a logged-in administrator, more clients."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url

import passport.services
from passport.app import create_app
from passport.config import Settings
from passport.identity.applications import ApplicationService
from passport.identity.clock import Clock
from passport.identity.users import User
from passport.services import Services
from passport.storage.database import Database
from passport.storage.tables import metadata

from .support import (
    CLIENT_ADDRESS,
    CLUSTER_PUBLIC_URL,
    PUBLIC_ORIGIN,
    Accounts,
    Browser,
    VerifyCounter,
    shared_hashing,
)


@pytest.fixture
def database_url(backend: str, migrated_templates: dict[str, str], tmp_path: Path) -> str:
    """tests/conftest.py's fresh database, emptied with DELETE rather than TRUNCATE.

    TRUNCATE costs 70-250 ms a test on PostgreSQL and MariaDB, DELETE of the few rows a test
    writes a few ms. Row IDs keep counting across tests: no test here depends on them.
    """
    if backend == "sqlite":
        source = Path(make_url(migrated_templates["sqlite"]).database or "")
        shutil.copyfile(source, tmp_path / "passport.db")
        return f"sqlite:///{tmp_path / 'passport.db'}"
    url = migrated_templates[backend]
    database = Database.from_url(url)
    with database.write() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(delete(table))
    database.dispose()
    return url


@pytest.fixture
def services(
    database: Database,
    applications: ApplicationService,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> Services:
    """The services of tests/conftest.py, sharing one PasswordHashing across the run.

    Building a PasswordHashing hashes a dummy password (the hash an unknown user is checked
    against); sharing it saves that argon2 hash in every test. Hashing itself is unchanged.
    """
    hashing = shared_hashing()
    monkeypatch.setattr(passport.services, "PasswordHashing", lambda _slots: hashing)
    return Services.build(database, settings, clock)


@pytest.fixture
def accounts(services: Services) -> Accounts:
    """The factory for users, sessions and applications."""
    return Accounts(services)


@pytest.fixture
def verifies(services: Services, monkeypatch: pytest.MonkeyPatch) -> VerifyCounter:
    """Counts the password verifications the login service makes."""
    counter = VerifyCounter(services.login.hashing)
    monkeypatch.setattr(services.login.hashing, "verify", counter)
    return counter


@pytest.fixture
def browser(client: httpx.AsyncClient) -> Browser:
    """A browser on Passport's own pages, not logged in."""
    return Browser(client)


@pytest.fixture
def admin_user(accounts: Accounts) -> User:
    """A user holding passport:admin."""
    return accounts.user("root", admin=True)


@pytest.fixture
def admin(client: httpx.AsyncClient, accounts: Accounts, admin_user: User) -> Browser:
    """A browser logged in as an administrator, on Passport's own origin."""
    return Browser(client, token=accounts.session(admin_user))


ClientMaker = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(
    settings: Settings, services: Services, database: Database, clock: Clock
) -> AsyncIterator[ClientMaker]:
    """Another client: from another address, or to an app with other settings (same DB)."""
    async with AsyncExitStack() as stack:

        async def make(address: str = CLIENT_ADDRESS, **overrides: Any) -> httpx.AsyncClient:
            app_settings, app_services = settings, services
            if overrides:
                app_settings = settings.model_copy(update=overrides)
                app_services = Services.build(database, app_settings, clock)
            transport = httpx.ASGITransport(
                app=create_app(app_settings, app_services), client=(address, 40000)
            )
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=PUBLIC_ORIGIN)
            )

        yield make


@dataclass
class Cluster:
    """Two `passport run` nodes on one PostgreSQL database, and services on that database."""

    nodes: tuple[Any, Any]
    services: Services
    public_url: str


@pytest.fixture
def two_nodes(server_databases: dict[str, Any], tmp_path: Path) -> Iterator[Cluster]:
    """Two plain-HTTP nodes behind one public URL (as behind a load balancer), one database."""
    if "postgresql" not in server_databases:
        pytest.skip("PASSPORT_TEST_BACKENDS leaves PostgreSQL out")
    # The end-to-end suite's launcher: `passport run` in its own process group, stopped
    # at teardown, its output shown when a test fails.
    sys.path.append(str(Path(__file__).resolve().parents[1] / "e2e"))
    from e2e_server import PassportLauncher  # noqa: PLC0415 - lives beside the e2e tests

    url = server_databases["postgresql"].create("nodes")
    environment = {"PASSPORT_DATABASE_URL": url, "PASSPORT_PUBLIC_URL": CLUSTER_PUBLIC_URL}
    launchers = [PassportLauncher(tmp_path / f"node-{n}") for n in range(2)]
    # One home for both nodes, as a cluster shares its configuration and keys; `passport
    # init` migrates the database and seeds the Passport application.
    home = launchers[0].new_home(environment)
    database = Database.from_url(url)
    settings = Settings(home=home, database_url=url, public_url=CLUSTER_PUBLIC_URL)
    services = Services.build(database, settings)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            node_a, node_b = pool.map(
                lambda launcher: launcher.start("--insecure-http", home=home, env=environment),
                launchers,
            )
        yield Cluster((node_a, node_b), services, CLUSTER_PUBLIC_URL)
    finally:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda launcher: launcher.stop_all(), launchers))
        database.dispose()
