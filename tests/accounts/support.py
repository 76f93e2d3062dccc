"""Helpers for the accounts tests: a browser that keeps its cookie, factories, counters.

argon2id costs about 50 ms a hash, so users get a password hash made once per test run
(users are created through UserService, then given that hash); tests that are not about
logging in open their sessions through SessionService instead of POST /Account/login.
"""

from __future__ import annotations

import os
import threading
from base64 import b64encode
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from json import dumps
from typing import Any, Protocol

import httpx
from sqlalchemy import Table, func, select, update

from passport.api.guard import ADMIN_PERMISSION
from passport.identity.applications import PASSPORT_APPLICATION, NewApplication
from passport.identity.audit import Actor
from passport.identity.passwords import PasswordHashing
from passport.identity.users import User
from passport.services import Services
from passport.storage.database import Database
from passport.storage.tables import audit_event, metadata, user_account

PASSWORD = "correct horse battery staple"
PUBLIC_ORIGIN = "https://passport.test"
# Two nodes behind one load balancer share this public URL (plain HTTP behind the proxy).
CLUSTER_PUBLIC_URL = "http://passport.internal"
CLIENT_ADDRESS = "203.0.113.7"
COOKIE = "__Host-passport"
SETUP = Actor("test:setup", "127.0.0.1")


class ManualClock(Protocol):
    """The `clock` fixture: a clock the test moves by hand."""

    def now(self) -> datetime:
        """The current (fake) time, naive UTC."""
        ...

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. advance(minutes=31)."""
        ...


@cache
def shared_hashing() -> PasswordHashing:
    """One PasswordHashing for the whole run: building one costs an argon2 hash."""
    return PasswordHashing(os.cpu_count() or 2)


@cache
def password_hash(password: str) -> str:
    """An argon2id hash of the password with Passport's parameters, made once per run."""
    return shared_hashing().hash(password)


def session_cookie_of(response: httpx.Response) -> str | None:
    """The raw `Set-Cookie` header for the session cookie, or None."""
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(f"{COOKIE}="):
            return value
    return None


def client_error(response: httpx.Response) -> dict[str, str]:
    """The one client exception of a failed envelope answer."""
    body = response.json()
    assert body["Success"] is False, body
    (error,) = body["ClientExceptions"]
    return dict(error)


def error_number(response: httpx.Response) -> str:
    """The Number of the one client exception of a failed answer."""
    return client_error(response)["Number"]


def basic_auth(application: NewApplication, secret: str | None = None) -> httpx.BasicAuth:
    """HTTP Basic `applicationId:secret` for an application."""
    return httpx.BasicAuth(str(application.application.id), secret or application.secret)


def basic_header(application: NewApplication, secret: str | None = None) -> str:
    """The `Authorization` header value for HTTP Basic `applicationId:secret`."""
    pair = f"{application.application.id}:{secret or application.secret}"
    return "Basic " + b64encode(pair.encode()).decode()


@dataclass(frozen=True)
class Operation:
    """One `/<Controller>/<method>` as /openapi.json describes it."""

    route: str
    http_methods: frozenset[str]
    string_arguments: tuple[str, ...]


async def operations(http: httpx.AsyncClient, *controllers: str) -> list[Operation]:
    """The operations of these controllers, read from the server's own /openapi.json."""
    document = (await http.get("/openapi.json")).json()
    found = []
    for path, item in document["paths"].items():
        route = path.strip("/")
        if route.split("/")[0] not in controllers:
            continue
        names: set[str] = set()
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["schema"].get("type") == "string" and parameter["name"] != "callback":
                    names.add(parameter["name"])
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            names.update(
                n for n, s in schema.get("properties", {}).items() if s["type"] == "string"
            )
        methods = frozenset(verb.upper() for verb in item if verb in ("get", "post"))
        found.append(Operation(route, methods, tuple(sorted(names))))
    return sorted(found, key=lambda operation: operation.route)


class Browser:
    """A browser as far as Passport can tell: it keeps the session cookie and sends an Origin.

    The cookie is handled by hand (Set-Cookie in, Cookie out) so that a test sees exactly
    what the server set and sends exactly what it means to send.
    """

    def __init__(
        self, http: httpx.AsyncClient, *, token: str | None = None, origin: str | None = None
    ) -> None:
        self.http = http
        self.token = token
        self.origin = origin if origin is not None else PUBLIC_ORIGIN

    async def get(
        self, path: str, params: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        """GET with the cookie and the page's origin."""
        return await self.request("GET", path, params=params, **headers)

    async def post(self, path: str, json: Any = None, **headers: str) -> httpx.Response:
        """POST a JSON body with the cookie and the page's origin."""
        return await self.request("POST", path, json=json, **headers)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        **headers: str,
    ) -> httpx.Response:
        """Any request; keyword headers use `_` for `-` and an empty value leaves one out."""
        sent = {"Origin": self.origin} if self.origin else {}
        if self.token is not None:
            sent["Cookie"] = f"{COOKIE}={self.token}"
        for name, value in headers.items():
            sent[name.replace("_", "-")] = value
        sent = {name: value for name, value in sent.items() if value}
        content = None
        if json is not None:
            # Encoded here, as JSON allows: "\ud800" (an unpaired surrogate) can be sent.
            content = dumps(json).encode("ascii")
            sent["Content-Type"] = "application/json"
        response = await self.http.request(
            method, path, params=params, content=content, headers=sent
        )
        self.http.cookies.clear()
        set_cookie = session_cookie_of(response)
        if set_cookie is not None:
            value = set_cookie.split(";", 1)[0].split("=", 1)[1]
            self.token = value or None
        return response

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        """POST /Account/login."""
        return await self.post("/Account/login", {"username": username, "password": password})

    async def logged_in(self) -> bool:
        """Whether whoAmI answers for this browser's cookie."""
        response = await self.get("/Account/whoAmI")
        return bool(response.json()["LoggedIn"]) and response.status_code == 200


@dataclass
class Accounts:
    """Builds the data a test needs through Passport's services, cheaply."""

    services: Services

    @property
    def database(self) -> Database:
        """The test's database."""
        return self.services.database

    def user(self, username: str, password: str | None = PASSWORD, *, admin: bool = False) -> User:
        """A user with this password (hash made once per run), optionally an administrator."""
        user = self.services.users.create(username, None, SETUP)
        if password is not None:
            with self.database.write() as connection:
                connection.execute(
                    update(user_account)
                    .where(user_account.c.id == user.id)
                    .values(password_hash=password_hash(password))
                )
        if admin:
            self.services.groups.grant(ADMIN_PERMISSION, PASSPORT_APPLICATION, SETUP, user=user)
        return user

    def session(self, user: User, *, application_id: int | None = None) -> str:
        """A new session token for the user, as a login would give (no password check)."""
        with self.database.write() as connection:
            new = self.services.sessions.create(
                connection,
                user.id,
                user.username,
                application_id=application_id,
                client_address=CLIENT_ADDRESS,
            )
        return new.token

    def application(self, name: str, *origins: str) -> NewApplication:
        """A new application with its client secret."""
        return self.services.applications.add(name, origins)

    def count(self, table: Table) -> int:
        """How many rows a table holds."""
        with self.database.read() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def row_counts(self) -> dict[str, int]:
        """Rows per table: what 'nothing written' is checked against."""
        return {table.name: self.count(table) for table in metadata.sorted_tables}

    def rows(self, table: Table) -> list[dict[str, Any]]:
        """Every row of a table, as dicts."""
        with self.database.read() as connection:
            return [dict(row._mapping) for row in connection.execute(select(table))]

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        """Audit events not written by test setup, oldest first, optionally of one action."""
        query = select(audit_event).where(audit_event.c.actor != SETUP.name)
        if action is not None:
            query = query.where(audit_event.c.action == action)
        with self.database.read() as connection:
            return [
                dict(row._mapping) for row in connection.execute(query.order_by(audit_event.c.id))
            ]


class VerifyCounter:
    """Counts argon2 verifications (thread-safe) while still doing them."""

    def __init__(self, hashing: PasswordHashing) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        self._verify = hashing.verify

    def __call__(self, stored_hash: str | None, password: str) -> bool:
        with self._lock:
            self.calls += 1
        return self._verify(stored_hash, password)
