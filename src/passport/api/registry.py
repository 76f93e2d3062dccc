"""The explicit registry of API methods: only what is registered here is reachable."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from passport.api.context import RequestContext

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__passport_api_method__"
_SUPPORTED_TYPES: frozenset[type] = frozenset({str, int, bool})


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """What the `api_method` decorator records about a controller method."""

    name: str
    http_methods: frozenset[str]
    read_only: bool
    inline: bool
    identity: bool
    summary: str


@dataclass(frozen=True, slots=True)
class Parameter:
    """One argument of an API method: its wire name (matched case-insensitively) and type."""

    name: str
    python_name: str
    kind: type


@dataclass(frozen=True, slots=True)
class ApiMethod:
    """A reachable `Controller/method` with its bound callable and parameters."""

    controller: str
    spec: MethodSpec
    function: Callable[..., Any]
    parameters: tuple[Parameter, ...]

    @property
    def route(self) -> str:
        """`Controller/method`, the label metrics and logs use."""
        return f"{self.controller}/{self.spec.name}"

    def call(self, context: RequestContext, arguments: dict[str, Any]) -> Any:
        """Run the method with bound arguments."""
        return self.function(context, **arguments)


def api_method(
    name: str,
    *,
    methods: Iterable[str] = ("GET", "POST"),
    read_only: bool = False,
    inline: bool = False,
    identity: bool = False,
    summary: str = "",
) -> Callable[[F], F]:
    """Mark a controller method as reachable at `/<Controller>/<name>`.

    `read_only` methods may answer JSONP; `inline` methods run on the event loop without a
    threadpool hop (only for short indexed reads, where the hop costs more than the reads;
    a write they need is put off, see `RequestContext.deferred`). `identity` methods report
    the session's groups and permissions: the guard reads them with the session, in one
    statement.
    """
    http_methods = frozenset(method.upper() for method in methods)
    if read_only is False and "GET" in http_methods:
        raise ValueError(f"{name}: a method that changes state must be POST only")

    def mark(function: F) -> F:
        doc = summary or (inspect.getdoc(function) or "").split("\n", 1)[0]
        setattr(function, _MARK, MethodSpec(name, http_methods, read_only, inline, identity, doc))
        return function

    return mark


class Controller:
    """Base of controllers; subclasses set `name` and mark methods with `api_method`."""

    name: typing.ClassVar[str] = ""


class Registry:
    """Controllers and their methods, looked up case-insensitively."""

    def __init__(self, controllers: Iterable[Controller]) -> None:
        self._methods: dict[tuple[str, str], ApiMethod] = {}
        self._controllers: dict[str, str] = {}
        for controller in controllers:
            if not controller.name:
                raise ValueError(f"{type(controller).__name__} has no name")
            self._controllers[controller.name.lower()] = controller.name
            for _, function in inspect.getmembers(controller, inspect.ismethod):
                spec: MethodSpec | None = getattr(function, _MARK, None)
                if spec is not None:
                    method = ApiMethod(controller.name, spec, function, _parameters(function))
                    self._methods[(controller.name.lower(), spec.name.lower())] = method

    def lookup(self, controller: str, method: str) -> ApiMethod | None:
        """The method at `controller/method` (any case), or None."""
        return self._methods.get((controller.lower(), method.lower()))

    def __iter__(self) -> typing.Iterator[ApiMethod]:
        return iter(sorted(self._methods.values(), key=lambda method: method.route.lower()))


def _parameters(function: Callable[..., Any]) -> tuple[Parameter, ...]:
    hints = typing.get_type_hints(function)
    parameters = []
    for python_name in list(inspect.signature(function).parameters)[1:]:
        kind = _base_type(hints.get(python_name))
        wire = _camel(python_name)
        parameters.append(Parameter(wire, python_name, kind))
    return tuple(parameters)


def _base_type(hint: Any) -> type:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    origin = typing.get_origin(hint)
    base = args[0] if origin in (typing.Union, types.UnionType) and len(args) == 1 else hint
    if base not in _SUPPORTED_TYPES:
        raise TypeError(f"API parameters must be str, int or bool (optional), not {hint!r}")
    return typing.cast(type, base)


def _camel(python_name: str) -> str:
    head, *rest = python_name.split("_")
    return head + "".join(part.capitalize() for part in rest)
