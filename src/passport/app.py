"""`create_app(settings)`: builds the ASGI application. Nothing runs at import time."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from passport import __version__
from passport.api.account import AccountController
from passport.api.admin import AdminController
from passport.api.dispatch import Dispatcher
from passport.api.guard import Guard
from passport.api.openapi import build_openapi
from passport.api.registry import Controller, Registry
from passport.api.service import ServiceController
from passport.api.sessions import PermissionController, SessionController
from passport.api.xkms_admin import XkmsController
from passport.config import Settings
from passport.logs import AccessLog, configure_logging
from passport.services import Services
from passport.web.api import EnvelopeEndpoint
from passport.web.metrics import Metrics
from passport.web.middleware import ProxyHeadersMiddleware, RequestMiddleware
from passport.web.ops import MetricsEndpoint, OpenApiEndpoint, Readiness, healthz
from passport.web.soap import SoapEndpoint, soap_routes
from passport.xkms.factory import xkms_service
from passport.xkms.service import XkmsService

SERVER_HEADER = f"Passport/{__version__}"


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    """The Passport ASGI application for these settings."""
    configure_logging(settings.log_format, settings.log_level)
    services = services or Services.from_settings(settings)
    public_url = settings.effective_public_url
    guard = guard_for(services, public_url)
    xkms = None
    if settings.xkms_enabled:
        xkms = xkms_service(settings, services.database, services.clock, services.audit)
    registry = build_registry(settings, services, guard, xkms)
    dispatcher = Dispatcher(registry, guard)
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
    routes.extend(
        soap_routes(
            settings, taken=[route.path for route in routes], built_in=[xkms] if xkms else []
        )
    )
    middleware = [
        Middleware(
            RequestMiddleware,
            metrics=metrics,
            access_log=AccessLog(settings.log_format, settings.log_level),
            https=public_url.startswith("https://"),
            server_header=SERVER_HEADER if settings.server_header else None,
        ),
    ]
    if settings.trusted_proxies:
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted=settings.trusted_proxies))
    app = Starlette(middleware=middleware)
    app.router = PassportRouter(
        routes,
        default=EnvelopeEndpoint(
            dispatcher,
            public_url=public_url,
            max_body=settings.json_max_bytes,
            inline_reads=services.database.backend == "sqlite"
            or settings.workers >= (os.cpu_count() or 1),
            reads_free=services.database.reader_free,
        ),
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.settings = settings
    return app


class PassportRouter(Router):
    """Starlette's router, with Passport's busy paths found by one dict lookup.

    A SOAP service's path goes straight to its endpoint, and a path that no route names
    straight to the envelope API: only the few fixed routes (health, metrics, OpenAPI) walk
    Starlette's route list. Every path is exact: no route takes parameters.
    """

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        default: ASGIApp,
        lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]],
    ) -> None:
        # Starlette's trailing-slash redirect builds its Location from the Host header.
        if any(route.param_convertors for route in routes):
            raise ValueError("PassportRouter routes by exact path: no route may take parameters")
        super().__init__(
            routes=list(routes), redirect_slashes=False, default=default, lifespan=lifespan
        )
        self.fast: dict[str, ASGIApp] = {
            route.path: route.endpoint
            for route in routes
            if isinstance(route.endpoint, SoapEndpoint)
        }
        self.routed = frozenset(route.path for route in routes)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch a request: by dict for SOAP and the envelope API, else Starlette's way."""
        if scope["type"] == "http":
            path = scope["path"]
            endpoint = self.fast.get(path)
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
            if path not in self.routed:
                await self.default(scope, receive, send)
                return
        await super().app(scope, receive, send)


def guard_for(services: Services, public_url: str) -> Guard:
    """The Guard that checks sessions and origins against Passport's own origin."""
    parts = urlsplit(public_url)
    return Guard(
        services.database,
        services.sessions,
        services.applications,
        f"{parts.scheme}://{parts.netloc}",
    )


def build_registry(
    settings: Settings,
    services: Services,
    guard: Guard,
    xkms: XkmsService | None = None,
) -> Registry:
    """Every controller of the envelope API (`Xkms` only with the XKMS service)."""
    controllers: list[Controller] = [
        ServiceController(services.applications),
        AccountController(
            guard=guard,
            login=services.login,
            users=services.users,
            self_registration=settings.self_registration,
        ),
        SessionController(guard=guard, login=services.login, sessions=services.sessions),
        PermissionController(guard=guard),
        AdminController(
            guard=guard,
            users=services.users,
            applications=services.applications,
            groups=services.groups,
            audit=services.audit,
        ),
    ]
    if xkms is not None:
        controllers.append(
            XkmsController(database=services.database, guard=guard, users=services.users, xkms=xkms)
        )
    return Registry(controllers)
