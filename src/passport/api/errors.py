"""Client errors of the envelope API, each carrying its wire `Number` and HTTP status.

The numbers are part of the API (docs/api.md lists them); never renumber one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

VALUE_MAX = 200


@dataclass
class ClientError(Exception):
    """An error the client can fix; becomes one entry of `ClientExceptions`."""

    message: str
    source: str = ""
    value: str = ""

    number: ClassVar[str] = "3"
    status: ClassVar[int] = 400

    def __post_init__(self) -> None:
        # Echoed text may hold what UTF-8 cannot carry (an unpaired surrogate): escape it.
        self.message = _printable(self.message)
        self.value = _printable(self.value)
        super().__init__(self.message)
        if len(self.value) > VALUE_MAX:
            self.value = self.value[:VALUE_MAX] + "…"

    def headers(self) -> list[tuple[str, str]]:
        """Extra HTTP headers this error's answer carries."""
        return []

    def as_wire(self) -> dict[str, str]:
        """The `{"Message", "Source", "Value", "Number"}` object."""
        return {
            "Message": self.message,
            "Source": self.source,
            "Value": self.value,
            "Number": self.number,
        }


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class ArgumentMissing(ClientError):
    """A required argument is absent or empty."""

    number = "1"


class NotFound(ClientError):
    """The named thing does not exist."""

    number = "2"
    status = 404


class ArgumentInvalid(ClientError):
    """An argument has the wrong type, length or characters."""

    number = "3"


class ArgumentDuplicated(ClientError):
    """An argument was given more than once."""

    number = "4"


class CallbackInvalid(ClientError):
    """A JSONP callback name that is not a plain JavaScript identifier path."""

    number = "5"


class JsonpNotAllowed(ClientError):
    """JSONP asked of a method that is not a read-only GET method."""

    number = "6"


class Conflict(ClientError):
    """The thing to create exists already."""

    number = "7"
    status = 409


class BodyMalformed(ClientError):
    """The request body cannot be parsed as its Content-Type says."""

    number = "400"


class NoMethod(ClientError):
    """No such controller or method."""

    number = "404"
    status = 404


@dataclass
class MethodNotAllowed(ClientError):
    """The HTTP method is not one this API method accepts."""

    allow: str = "GET, HEAD, POST"

    number = "405"
    status = 405

    def headers(self) -> list[tuple[str, str]]:
        return [("allow", self.allow)]


class BodyTooLarge(ClientError):
    """The request body exceeds the configured limit."""

    number = "413"
    status = 413


class UnsupportedMediaType(ClientError):
    """A Content-Type or charset the API does not read."""

    number = "415"
    status = 415


class NotLoggedIn(ClientError):
    """The method needs a login session and the request has none (or it expired)."""

    number = "8"
    status = 401


class PermissionDenied(ClientError):
    """The logged-in user lacks the permission the method needs."""

    number = "9"
    status = 403


class LoginFailed(ClientError):
    """Wrong username or password (one answer for both)."""

    number = "10"
    status = 401


class TooManyAttempts(ClientError):
    """Too many failed logins for the account or from the address."""

    number = "11"
    status = 429


class PasswordRejected(ClientError):
    """A new password the policy refuses (too short, or a common password)."""

    number = "12"


class ApplicationAuthFailed(ClientError):
    """Missing or wrong HTTP Basic credentials `applicationId:secret`."""

    number = "13"
    status = 401

    def headers(self) -> list[tuple[str, str]]:
        return [("www-authenticate", 'Basic realm="Passport", charset="UTF-8"')]


class CrossSiteRefused(ClientError):
    """A state-changing POST with a session cookie from an origin Passport does not know."""

    number = "14"
    status = 403


class RegistrationClosed(ClientError):
    """Self-registration is switched off."""

    number = "15"
    status = 403


class ResetTokenInvalid(ClientError):
    """A password-reset token that is unknown, expired or already used."""

    number = "16"
