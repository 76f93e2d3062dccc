"""Fixtures of the XKMS service tests: client keys made once, and an app serving XKMS.

`xkms` is an app with the XKMS service on the test's backend and FakeClock, reached
in-process over HTTP, with helpers to make users and passcodes and to read what the service
stored and audited. A module changes the service policy by overriding `xkms_policy`.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.engine import make_url

import passport.services
from passport.app import create_app
from passport.config import Settings
from passport.identity.applications import ApplicationService
from passport.identity.audit import Actor, AuditEvent
from passport.identity.passwords import PasswordHashing
from passport.identity.users import User
from passport.services import Services
from passport.storage.database import Database
from passport.storage.tables import metadata, xkms_key_binding, xkms_passcode
from passport.xkms.factory import passcode_service
from passport.xkms.passcodes import PasscodeService, UseKeyWith
from passport.xkms.service_keys import service_key_paths

from .support import Pair, XkmsHttp

PUBLIC_URL = "https://passport.test"
SERVICE = PUBLIC_URL + "/xkms"
CLIENT_ADDRESS = "203.0.113.7"
SETUP = Actor("test:setup", "127.0.0.1")
CLIENT_KEY_COUNT = 10
BARRIER_TIMEOUT_S = 30


class ManualClock(Protocol):
    """The `clock` fixture: a clock the test moves by hand."""

    def now(self) -> datetime:
        """The current (fake) time, naive UTC."""
        ...

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        ...


@pytest.fixture
def database_url(backend: str, migrated_templates: dict[str, str], tmp_path: Path) -> str:
    """tests/conftest.py's fresh database, emptied with DELETE rather than TRUNCATE
    (TRUNCATE of every table costs about a second a test on MariaDB)."""
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


@cache
def _shared_hashing() -> PasswordHashing:
    return PasswordHashing(os.cpu_count() or 2)


@pytest.fixture
def services(
    database: Database,
    applications: ApplicationService,
    settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Services:
    """tests/conftest.py's services, sharing one PasswordHashing across the run (building
    one hashes a dummy password; these tests never hash one)."""
    hashing = _shared_hashing()
    monkeypatch.setattr(passport.services, "PasswordHashing", lambda _slots: hashing)
    return Services.build(database, settings, clock)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ClientKeys:
    """RSA keys a client generated: `rsa2048[i]` are distinct keys, `rsa1024` a small one."""

    rsa2048: tuple[rsa.RSAPrivateKey, ...]
    rsa1024: rsa.RSAPrivateKey


@pytest.fixture(scope="session")
def client_keys() -> ClientKeys:
    """Client keys, generated once per session (an RSA-2048 key costs tens of milliseconds)."""
    return ClientKeys(
        rsa2048=tuple(
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for _ in range(CLIENT_KEY_COUNT)
        ),
        # A key the default policy must refuse as too small.
        rsa1024=rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505
    )


@dataclass
class Harness:
    """An app serving XKMS, its services, and what a test reads back from the database."""

    http: XkmsHttp
    services: Services
    settings: Settings
    passcodes: PasscodeService
    clock: ManualClock

    service_url: str = SERVICE

    def user(self, username: str = "alice") -> User:
        """A new user (no password: these tests never log in)."""
        return self.services.users.create(username, None, SETUP)

    def authorize(
        self,
        user: User,
        pairs: Sequence[Pair],
        *,
        passcode: str | None = None,
        uses: int = 1,
        expires_in: timedelta | None = None,
    ) -> str:
        """A passcode for the user and these UseKeyWith pairs, as `passport xkms authorize`."""
        issued, _ = self.passcodes.authorize(
            user,
            [UseKeyWith(application, identifier) for application, identifier in pairs],
            SETUP,
            passcode=passcode,
            uses=uses,
            expires_in=expires_in,
        )
        return issued

    def binding_count(self) -> int:
        """Rows in xkms_key_binding."""
        with self.services.database.read() as connection:
            return int(
                connection.execute(select(func.count()).select_from(xkms_key_binding)).scalar_one()
            )

    def uses_left(self) -> list[int]:
        """uses_left of every passcode, oldest first."""
        with self.services.database.read() as connection:
            return [
                int(row.uses_left)
                for row in connection.execute(
                    select(xkms_passcode.c.uses_left).order_by(xkms_passcode.c.id)
                )
            ]

    def audit(self, action: str) -> list[AuditEvent]:
        """Audit events of one action, oldest first."""
        return [e for e in self.services.audit.events(limit=1000) if e.action == action]

    def hold_writes(self, parties: int, monkeypatch: pytest.MonkeyPatch) -> None:
        """From now on the first `parties` write transactions wait for one another, so
        that `parties` concurrent requests have all done their reads (seen the passcode
        unused, the binding live) before any of them writes. A barrier, not a sleep: a
        request that never gets to write breaks it after BARRIER_TIMEOUT_S."""
        database = self.services.database
        original = database.write
        barrier = threading.Barrier(parties, timeout=BARRIER_TIMEOUT_S)
        lock = threading.Lock()
        started = 0

        @contextmanager
        def write() -> Iterator[Connection]:
            nonlocal started
            with lock:
                started += 1
                held = started <= parties
            if held:
                barrier.wait()
            with original() as connection:
                yield connection

        monkeypatch.setattr(database, "write", write)


@pytest.fixture
def xkms_policy() -> dict[str, Any]:
    """Settings overrides for the service policy (a module overrides this fixture)."""
    return {}


@pytest.fixture
async def xkms(
    xkms_settings: Settings, services: Services, clock: ManualClock, xkms_policy: dict[str, Any]
) -> AsyncIterator[Harness]:
    """An app serving XKMS on the test's backend, reached in-process."""
    settings = xkms_settings.model_copy(update=xkms_policy)
    assert settings.effective_public_url == PUBLIC_URL
    app = create_app(settings, services)
    certificate = service_key_paths(settings.home)[1].read_bytes()
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield Harness(
            http=XkmsHttp(client, certificate),
            services=services,
            settings=settings,
            passcodes=passcode_service(settings, services.database, clock, services.audit),
            clock=clock,
        )
