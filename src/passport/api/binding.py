"""Arguments from the query string (GET) or a form / JSON body (POST), bound by name.

Names match case-insensitively. A name given twice is an error, never a silent choice.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from passport.api.errors import (
    ArgumentDuplicated,
    ArgumentInvalid,
    BodyMalformed,
    UnsupportedMediaType,
)
from passport.api.registry import ApiMethod

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FIELDS = 100
# Arguments that carry a password: taken from a body only, never echoed in an error.
PASSWORD_ARGUMENTS = frozenset({"password", "oldPassword", "newPassword"})
_INTEGER = re.compile(r"-?[0-9]{1,18}")


class Arguments:
    """Request arguments keyed by lower-cased name, remembering the name as sent."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, Any]] = {}

    def add(self, name: str, value: Any) -> None:
        """Add one argument; ArgumentDuplicated when the name (any case) is already here."""
        key = name.lower()
        if key in self._values:
            raise ArgumentDuplicated(
                f"Parameter '{name}' was given more than once.", source=name, value=""
            )
        if len(self._values) >= MAX_FIELDS:
            raise BodyMalformed(f"More than {MAX_FIELDS} parameters.", source="body")
        self._values[key] = (name, value)

    def pop(self, name: str) -> Any:
        """Remove and return the argument `name` (any case), or None."""
        item = self._values.pop(name.lower(), None)
        return None if item is None else item[1]

    def get(self, name: str) -> Any:
        """The argument `name` (any case), or None."""
        item = self._values.get(name.lower())
        return None if item is None else item[1]


def parse_query(query_string: bytes, arguments: Arguments) -> None:
    """Add the query string's parameters."""
    if not query_string:
        return
    try:
        text = query_string.decode("ascii")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyMalformed(
            "The query string is not valid percent-encoded UTF-8.", source="url"
        ) from exc
    for name, value in pairs:
        arguments.add(name, value)


def parse_body(content_type: str, body: bytes, arguments: Arguments) -> None:
    """Add a form or JSON body's fields; an empty body adds nothing."""
    if not body:
        return
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    charset = _charset(params)
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"Charset '{charset}' is not supported; send UTF-8.",
            source="Content-Type",
            value=content_type,
        )
    if media_type == JSON:
        _parse_json(body, arguments)
    elif media_type == FORM:
        _parse_form(body, arguments)
    else:
        raise UnsupportedMediaType(
            f"Content-Type must be {JSON} or {FORM}.",
            source="Content-Type",
            value=content_type,
        )


def _charset(params: str) -> str | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _parse_form(body: bytes, arguments: Arguments) -> None:
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyMalformed("The form body is not valid URL-encoded UTF-8.", source="body") from exc
    for name, value in pairs:
        arguments.add(name, value)


def _parse_json(body: bytes, arguments: Arguments) -> None:
    try:
        document = json.loads(body, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as exc:
        raise ArgumentDuplicated(
            f"Parameter '{exc.name}' was given more than once.", source=exc.name
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BodyMalformed(f"The JSON body is malformed: {_reason(exc)}", source="body") from None
    if not isinstance(document, dict):
        raise BodyMalformed("The JSON body must be an object of named arguments.", source="body")
    for name, value in document.items():
        arguments.add(name, value)


class _DuplicateKey(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key.lower() in (existing.lower() for existing in result):
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}."
    if isinstance(exc, RecursionError):
        return "nested too deeply."
    return "not UTF-8."


def bind(method: ApiMethod, arguments: Arguments) -> dict[str, Any]:
    """Match arguments to the method's parameters; a missing one is None."""
    bound: dict[str, Any] = {}
    for parameter in method.parameters:
        value = arguments.get(parameter.name)
        bound[parameter.python_name] = (
            None if value is None else _convert(parameter.name, parameter.kind, value)
        )
    return bound


def _convert(name: str, kind: type, value: Any) -> Any:
    if kind is str:
        if isinstance(value, str):
            return value
        # A password sent with the wrong type is still a password: never echo it.
        shown = "" if name in PASSWORD_ARGUMENTS else repr(value)
        raise ArgumentInvalid(f"Parameter '{name}' must be a string.", source=name, value=shown)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        raise ArgumentInvalid(
            f"Parameter '{name}' must be true or false.", source=name, value=str(value)
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise ArgumentInvalid(f"Parameter '{name}' must be an integer.", source=name, value=str(value))
