"""From an HTTP request's parts to an envelope answer: routing, arguments, JSONP, errors."""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import structlog

from passport.api.binding import PASSWORD_ARGUMENTS, Arguments, bind, parse_body, parse_query
from passport.api.context import RequestContext
from passport.api.envelope import ApiResponse, client_error, envelope, render, server_error
from passport.api.errors import (
    ArgumentInvalid,
    ArgumentMissing,
    CallbackInvalid,
    ClientError,
    Conflict,
    JsonpNotAllowed,
    LoginFailed,
    MethodNotAllowed,
    NoMethod,
    NotFound,
    PasswordRejected,
    ResetTokenInvalid,
    TooManyAttempts,
)
from passport.api.guard import Guard
from passport.api.registry import ApiMethod, Registry
from passport.identity import errors as identity_errors
from passport.identity import login as identity_login
from passport.identity.passwords import PasswordPolicyError
from passport.identity.users import ResetTokenInvalid as IdentityResetTokenInvalid

log = structlog.get_logger("passport.api")

CALLBACK = re.compile(r"[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,3}", re.ASCII)
_SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST"})
DEFAULT_CONTROLLER = "Service"
DEFAULT_METHOD = "Index"


@dataclass(slots=True)
class ApiCall:
    """A request resolved to a method with bound arguments, ready to run."""

    method: ApiMethod
    arguments: dict[str, Any]
    callback: str | None


def split_path(path: str) -> tuple[str, str]:
    """`/Controller/method` into its two names, with the documented defaults."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    if len(parts) > 2:
        return path.strip("/"), ""
    controller = parts[0] if parts else DEFAULT_CONTROLLER
    method = parts[1] if len(parts) > 1 else DEFAULT_METHOD
    return controller, method


class Dispatcher:
    """Resolves requests against the registry and turns results into envelopes."""

    def __init__(self, registry: Registry, guard: Guard | None = None) -> None:
        self.registry = registry
        self.guard = guard

    def find(self, path: str) -> ApiMethod:
        """The method a path names (any case); NoMethod when there is none."""
        controller, name = split_path(path)
        method = None
        if _SEGMENT.fullmatch(controller) and _SEGMENT.fullmatch(name):
            method = self.registry.lookup(controller, name)
        if method is None:
            label = f"{controller}/{name}" if name else controller
            raise NoMethod(f"No method '{label}' found.", source="url", value=label)
        return method

    def prepare(
        self,
        method: ApiMethod,
        http_method: str,
        query_string: bytes,
        content_type: str,
        body: bytes,
    ) -> ApiCall:
        """Check the HTTP method and bind the arguments; raises ClientError when that fails."""
        verb = "GET" if http_method == "HEAD" else http_method
        if verb not in method.spec.http_methods or http_method not in _HTTP_METHODS:
            allowed = set(method.spec.http_methods)
            if "GET" in allowed:
                allowed.add("HEAD")
            raise MethodNotAllowed(
                f"Method '{method.route}' accepts {' or '.join(sorted(allowed))}, "
                f"not {http_method}.",
                source="method",
                value=http_method,
                allow=", ".join(sorted(allowed)),
            )
        arguments = Arguments()
        parse_query(query_string, arguments)
        _refuse_passwords(arguments)
        if verb == "POST":
            parse_body(content_type, body, arguments)
        callback = _callback(arguments.pop("callback"), method, verb)
        return ApiCall(method, bind(method, arguments), callback)

    def invoke(self, call: ApiCall, context: RequestContext) -> ApiResponse:
        """Run a resolved call; every outcome, even a crash, becomes an envelope."""
        try:
            guard = self.guard
            # An inline method's short reads share one reader connection.
            shared = (
                guard.shared_reads(context)
                if guard is not None and call.method.spec.inline
                else None
            )
            with shared or nullcontext():
                if guard is not None:
                    guard.prepare(context, identity=call.method.spec.identity)
                data = call.method.call(context, call.arguments)
        except ClientError as error:
            return client_error(error, logged_in=context.logged_in, callback=call.callback)
        except identity_errors.IdentityError as error:
            return client_error(
                _from_identity(error), logged_in=context.logged_in, callback=call.callback
            )
        except Exception:  # the one boundary that hides internals behind a reference
            log.exception(
                "api.internal_error", reference=context.request_id, route=call.method.route
            )
            return server_error(
                context.request_id, logged_in=context.logged_in, callback=call.callback
            )
        body = envelope(success=True, logged_in=context.logged_in, data=data)
        return render(body, 200, call.callback)


def _refuse_passwords(query: Arguments) -> None:
    # URLs end up in logs, proxies and browser history: a password never travels in one.
    for name in sorted(PASSWORD_ARGUMENTS):
        if query.get(name) is not None:
            raise ArgumentInvalid(
                f"Parameter '{name}' must be sent in the request body, never in the URL.",
                source=name,
            )


def _callback(value: Any, method: ApiMethod, verb: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not CALLBACK.fullmatch(value):
        shown = value if isinstance(value, str) else repr(value)
        raise CallbackInvalid(
            "The JSONP callback must be a JavaScript name such as 'handle' or 'app.handle'.",
            source="callback",
            value=shown,
        )
    if verb != "GET" or not method.spec.read_only:
        raise JsonpNotAllowed(
            f"Method '{method.route}' does not answer JSONP.", source="callback", value=value
        )
    return value


def _from_identity(error: identity_errors.IdentityError) -> ClientError:
    kind: type[ClientError] | None = None
    if isinstance(error, identity_login.LoginFailed):
        kind = LoginFailed
    elif isinstance(error, identity_login.LoginThrottled):
        kind = TooManyAttempts
    elif isinstance(error, PasswordPolicyError):
        kind = PasswordRejected
    elif isinstance(error, IdentityResetTokenInvalid):
        kind = ResetTokenInvalid
    elif isinstance(error, identity_errors.Missing):
        kind = ArgumentMissing
    if kind is not None:
        return kind(error.message, source=error.field, value=error.value)
    if isinstance(error, identity_errors.NotFound):
        return NotFound(error.message, source=error.field, value=error.value)
    if isinstance(error, identity_errors.Conflict):
        return Conflict(error.message, source=error.field, value=error.value)
    return ArgumentInvalid(error.message, source=error.field, value=error.value)
