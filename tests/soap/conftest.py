"""An app hosting the echo service through the settings, and a client talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from passport.app import create_app
from passport.config import Settings
from passport.web.soap import SoapEndpoint

from .echo import EchoService

CLIENT_ADDRESS = "203.0.113.7"
PUBLIC_URL = "https://passport.test"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings hosting the echo service, with any setting overridden."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "home": tmp_path,
            "database_url": f"sqlite:///{tmp_path / 'passport.db'}",
            "public_url": PUBLIC_URL,
            "soap_services": ["soap.echo:create"],
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def soap_settings(make_settings: Callable[..., Settings]) -> Settings:
    """Default settings with the echo service."""
    return make_settings()


@pytest.fixture
def soap_app(soap_settings: Settings) -> Starlette:
    """The app for `soap_settings`."""
    return create_app(soap_settings)


@pytest.fixture
def echo(soap_app: Starlette) -> EchoService:
    """The echo service instance the app hosts."""
    return echo_service(soap_app)


@pytest.fixture
async def client(soap_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client talking to the app in-process."""
    async with client_for(soap_app) as client:
        yield client


def echo_service(app: Starlette, path: str = "/echo") -> EchoService:
    """The service hosted at `path`."""
    for route in app.routes:
        if isinstance(route, Route) and route.path == path:
            assert isinstance(route.endpoint, SoapEndpoint)
            service = route.endpoint.endpoint.service
            assert isinstance(service, EchoService)
            return service
    raise AssertionError(f"no SOAP route at {path}")


def client_for(app: Starlette) -> httpx.AsyncClient:
    """An in-process client of `app` from a fixed client address."""
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40000))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)
