"""Services register by entry point or by name in the settings; clashes fail at start-up."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint

import pytest

from passport.app import create_app
from passport.config import Settings
from passport.soap import registry
from passport.soap.registry import ENTRY_POINT_GROUP, ServiceRegistrationError
from passport.web.soap import soap_routes

from .conftest import client_for, echo_service
from .echo import EchoService
from .support import envelope, post


async def test_entry_point_registers_a_service(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    point = EntryPoint(name="echo", value="soap.echo:create", group=ENTRY_POINT_GROUP)

    def entry_points(*, group: str) -> list[EntryPoint]:
        return [point] if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", entry_points)
    app = create_app(make_settings(soap_services=[]))
    async with client_for(app) as client:
        response = await post(client, "1.1", envelope("1.1"))
    assert response.status_code == 200
    assert echo_service(app).calls == 1


async def test_without_services_the_path_belongs_to_the_envelope_api(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(soap_services=[]))
    async with client_for(app) as client:
        response = await client.post("/echo", content=envelope("1.1"))
    assert response.status_code == 404
    assert "ClientExceptions" in response.json()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (
            ["soap.echo:create", "soap.echo:create_second"],
            "SOAP services soap.echo:create and soap.echo:create_second both want path /echo; "
            "paths must be unique",
        ),
        (
            ["soap.echo:create_at_healthz"],
            "SOAP service path /healthz is taken by one of Passport's own routes",
        ),
        (
            ["soap.echo:create_with_bad_path"],
            "SOAP service soap.echo:create_with_bad_path has path '/echo/{name}'; a path is "
            "like /xkms (letters, digits, '.', '_', '~', '-' between slashes)",
        ),
        (["soap.echo"], 'SOAP service "soap.echo" must be written "package.module:factory"'),
        (
            ["soap.echo:missing"],
            'SOAP service "soap.echo:missing": soap.echo has no attribute missing',
        ),
        (
            ["soap.echo:NOT_A_FACTORY"],
            "SOAP service soap.echo:NOT_A_FACTORY is not a callable factory",
        ),
        (["soap.nowhere:create"], 'SOAP service "soap.nowhere:create": cannot import soap.nowhere'),
    ],
)
def test_bad_registration_stops_the_app_with_a_clear_message(
    make_settings: Callable[..., Settings], names: list[str], message: str
) -> None:
    with pytest.raises(ServiceRegistrationError) as raised:
        create_app(make_settings(soap_services=names))
    assert str(raised.value).startswith(message)


def test_object_that_is_not_a_service_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(
        ServiceRegistrationError,
        match="lacks path, namespace, elements, understood_headers, server_tokens",
    ):
        registry.load_services(["soap.echo:create_not_a_service"], make_settings())


def test_services_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]
) -> None:
    monkeypatch.setenv("PASSPORT_SOAP_SERVICES", '["soap.echo:create"]')
    settings = make_settings()
    assert Settings(home=settings.home).soap_services == ["soap.echo:create"]


def test_built_in_service_is_routed(make_settings: Callable[..., Settings]) -> None:
    service = EchoService("/built-in")
    routes = soap_routes(make_settings(soap_services=[]), built_in=[service])
    assert [route.path for route in routes] == ["/built-in"]


def test_built_in_and_configured_services_must_not_share_a_path(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(ServiceRegistrationError) as raised:
        soap_routes(make_settings(), built_in=[EchoService()])
    assert str(raised.value) == (
        "SOAP services built-in EchoService and soap.echo:create both want path /echo; "
        "paths must be unique"
    )


def test_entry_point_that_cannot_load_stops_the_app_with_its_name(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    point = EntryPoint(name="broken", value="soap.nowhere:create", group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda *, group: [point])
    with pytest.raises(ServiceRegistrationError) as raised:
        create_app(make_settings(soap_services=[]))
    assert str(raised.value).startswith(
        "SOAP service entry point broken = soap.nowhere:create cannot load: No module named"
    )
