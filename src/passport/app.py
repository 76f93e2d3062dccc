"""`create_app(settings)`: builds the ASGI application. Nothing runs at import time."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from passport import __version__
from passport.api.dispatch import Dispatcher
from passport.api.openapi import build_openapi
from passport.api.registry import Registry
from passport.api.service import ServiceController
from passport.config import Settings
from passport.identity.applications import ApplicationService
from passport.logs import configure_logging
from passport.storage.database import Database
from passport.web.api import EnvelopeEndpoint
from passport.web.metrics import Metrics
from passport.web.middleware import ProxyHeadersMiddleware, RequestMiddleware
from passport.web.ops import MetricsEndpoint, OpenApiEndpoint, Readiness, healthz

SERVER_HEADER = f"Passport/{__version__}"


@dataclass
class Services:
    """The services an app is built from; tests may build their own."""

    database: Database
    applications: ApplicationService

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Services on the database the settings name."""
        database = Database.from_url(
            settings.effective_database_url, pool_size=settings.db_pool_size
        )
        return cls(database=database, applications=ApplicationService(database))


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    """The Passport ASGI application for these settings."""
    configure_logging(settings.log_format, settings.log_level)
    services = services or Services.from_settings(settings)
    public_url = settings.effective_public_url
    registry = Registry([ServiceController(services.applications)])
    dispatcher = Dispatcher(registry)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        services.database.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", Readiness(services.database).endpoint, methods=["GET"]),
        Route("/metrics", MetricsEndpoint(metrics).endpoint, methods=["GET"]),
        Route(
            "/openapi.json",
            OpenApiEndpoint(build_openapi(registry, public_url)).endpoint,
            methods=["GET"],
        ),
    ]
    middleware = [
        Middleware(
            RequestMiddleware,
            metrics=metrics,
            https=public_url.startswith("https://"),
            server_header=SERVER_HEADER if settings.server_header else None,
        ),
    ]
    if settings.trusted_proxies:
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted=settings.trusted_proxies))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.router.default = EnvelopeEndpoint(
        dispatcher, public_url=public_url, max_body=settings.json_max_bytes
    )
    app.state.services = services
    app.state.settings = settings
    return app
