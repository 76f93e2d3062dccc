"""Finding the services to host: entry points and "module:factory" names.

A factory is a callable taking the application's settings and returning a SoapService.
Packages offer factories through the entry point group `passport.soap_services`; settings
name more as "package.module:factory".
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any, cast

from passport.soap.service import SoapService

ENTRY_POINT_GROUP = "passport.soap_services"
# A plain URL path: it is routed literally, so no parameters, query or dot segments.
_PATH = re.compile(r"(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+")
_ATTRIBUTES = ("path", "namespace", "elements", "understood_headers", "server_tokens")

ServiceFactory = Callable[[Any], SoapService]


class ServiceRegistrationError(Exception):
    """A service cannot be loaded or clashes with another; the message says which and why."""


def load_services(
    names: Iterable[str], settings: object, built_in: Iterable[SoapService] = ()
) -> list[SoapService]:
    """The built-in services, then those of every entry point and named factory, checked.

    Built-in services are the ones the application constructs itself (they may need more
    than the settings); plugins are built by their factories from the settings alone.
    """
    loaded: list[tuple[str, SoapService]] = [
        (f"built-in {type(service).__name__}", service) for service in built_in
    ]
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point {entry_point.name} = {entry_point.value}"
        loaded.append((origin, _checked_factory(origin, entry_point.load)(settings)))
    for name in names:
        loaded.append((name, _checked_factory(name, functools.partial(_import, name))(settings)))
    owners: dict[str, str] = {}
    for origin, service in loaded:
        _check_service(origin, service)
        if service.path in owners:
            raise ServiceRegistrationError(
                f"SOAP services {owners[service.path]} and {origin} both want path "
                f"{service.path}; paths must be unique"
            )
        owners[service.path] = origin
    return [service for _, service in loaded]


def _import(name: str) -> object:
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ServiceRegistrationError(
            f'SOAP service "{name}" must be written "package.module:factory"'
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ServiceRegistrationError(
            f'SOAP service "{name}": cannot import {module_name}: {error}'
        ) from error
    try:
        return cast(object, getattr(module, attribute))
    except AttributeError:
        raise ServiceRegistrationError(
            f'SOAP service "{name}": {module_name} has no attribute {attribute}'
        ) from None


def _checked_factory(origin: str, load: Callable[[], object]) -> ServiceFactory:
    try:
        factory = load()
    except (ImportError, AttributeError) as error:
        raise ServiceRegistrationError(f"SOAP service {origin} cannot load: {error}") from error
    if not callable(factory):
        raise ServiceRegistrationError(f"SOAP service {origin} is not a callable factory")
    return cast(ServiceFactory, factory)


def _check_service(origin: str, service: object) -> None:
    missing = [name for name in _ATTRIBUTES if not hasattr(service, name)]
    if missing or not callable(getattr(service, "handle", None)):
        needs = ", ".join(missing) if missing else "handle()"
        raise ServiceRegistrationError(f"SOAP service {origin} lacks {needs}")
    path = cast(SoapService, service).path
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ServiceRegistrationError(
            f"SOAP service {origin} has path {path!r}; a path is like /xkms "
            "(letters, digits, '.', '_', '~', '-' between slashes)"
        )
