"""The app the benchmark serves: Passport as `passport run` builds it, plus baselines.

Beside Passport's own routes the same worker serves:

- `/raw/hello` and `/raw/select?name=...`: a plain Starlette app that Passport's middleware
  never sees. `/raw/select` runs the single-row SELECT that getApplication runs, through
  SQLAlchemy Core on the same engine, in the threadpool (one hop) — what a straightforward
  Starlette endpoint would do.
- `/BenchHop/getApplication?name=...`: Passport's own getApplication, the same code, with
  the method's `inline` flag off, so the read takes one threadpool hop instead of running on
  the event loop. Comparing it with `/Service/getApplication` measures that design choice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from passport.api.context import RequestContext
from passport.api.registry import ApiMethod, Registry, api_method
from passport.api.service import ServiceController
from passport.storage.database import Database
from passport.web.api import EnvelopeEndpoint
from passport.web.asgi import app_from_environment

RAW_PREFIX = "/raw/"
SELECT = text("SELECT applicationid, name FROM application_info WHERE name = :name")


class HopServiceController(ServiceController):
    """`/BenchHop/getApplication`: Service/getApplication, but run in the threadpool."""

    name = "BenchHop"

    @api_method("getApplication", methods=("GET", "POST"), read_only=True, inline=False)
    def get_application(self, context: RequestContext, name: str | None) -> dict[str, Any]:
        """The ID of the application with this name (after one threadpool hop)."""
        return super().get_application(context, name)


class RegistryWithHop(Registry):
    """The registry create_app built, with `/BenchHop/...` added in front of it."""

    def __init__(self, base: Registry, hop: HopServiceController) -> None:
        super().__init__([hop])
        self.base = base

    def lookup(self, controller: str, method: str) -> ApiMethod | None:
        """The hop variant for `BenchHop/...`, else whatever Passport serves."""
        return super().lookup(controller, method) or self.base.lookup(controller, method)

    def __iter__(self) -> Iterator[ApiMethod]:
        yield from super().__iter__()
        yield from self.base


def raw_app(database: Database) -> Starlette:
    """A plain Starlette app: no Passport middleware, envelope or logging."""

    def select_application(name: str) -> dict[str, Any] | None:
        with database.engine.connect() as connection:
            _read_like_passport(connection, database)
            row = connection.execute(SELECT, {"name": name}).first()
        return None if row is None else {"id": row.applicationid, "name": row.name}

    async def hello(_request: Request) -> Response:
        return PlainTextResponse("Hello, world!")

    async def select(request: Request) -> Response:
        found = await run_in_threadpool(select_application, request.query_params.get("name", ""))
        return JSONResponse(found, status_code=200 if found else 404)

    return Starlette(
        routes=[
            Route("/raw/hello", hello, methods=["GET"]),
            Route("/raw/select", select, methods=["GET"]),
        ]
    )


def _read_like_passport(connection: Connection, database: Database) -> None:
    # The same connection mode Passport's reads use, so that the baseline differs from
    # getApplication only in the framework around the query, not in the transaction it
    # opens: SQLite's engine would otherwise BEGIN IMMEDIATE (taking the write lock), and
    # PostgreSQL would pay a BEGIN and a ROLLBACK round trip.
    if database.backend == "sqlite":
        connection.execution_options(sqlite_begin="DEFERRED")
    else:
        connection.execution_options(isolation_level="AUTOCOMMIT")


class BenchApp:
    """Sends `/raw/...` to the raw app and everything else (lifespan too) to Passport."""

    def __init__(self, passport: ASGIApp, raw: ASGIApp) -> None:
        self.passport = passport
        self.raw = raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(RAW_PREFIX):
            await self.raw(scope, receive, send)
        else:
            await self.passport(scope, receive, send)


def bench_app() -> ASGIApp:
    """The granian factory (`bench.app:bench_app`): settings come from `serve()`."""
    passport = app_from_environment()
    if not isinstance(passport, Starlette) or not isinstance(
        passport.router.default, EnvelopeEndpoint
    ):
        raise TypeError("create_app no longer serves the envelope API as the router default")
    services = passport.state.services
    dispatcher = passport.router.default.dispatcher
    dispatcher.registry = RegistryWithHop(
        dispatcher.registry, HopServiceController(services.applications)
    )
    return BenchApp(passport, raw_app(services.database))
