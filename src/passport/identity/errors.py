"""Errors of the identity layer; each names the argument it concerns."""

from __future__ import annotations


class IdentityError(Exception):
    """Base of the identity layer's expected errors (bad input, conflicts, not found)."""

    def __init__(self, message: str, *, field: str = "", value: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


class InvalidValue(IdentityError):
    """A value is missing, too long or contains characters that are not allowed."""


class Missing(InvalidValue):
    """A required value is absent or empty."""


class NotFound(IdentityError):
    """The thing named does not exist."""


class Conflict(IdentityError):
    """The thing already exists."""
