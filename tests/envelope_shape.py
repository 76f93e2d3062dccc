"""What every envelope answer looks like, checked in one place."""

from __future__ import annotations

from typing import Any

ENVELOPE_KEYS = ["Success", "LoggedIn", "Data", "ClientExceptions", "ServerExceptions"]
CLIENT_EXCEPTION_KEYS = {"Message", "Source", "Value", "Number"}


def assert_envelope(body: Any) -> None:
    """Fail unless `body` is a well-formed envelope: five keys in order, each of its type."""
    assert isinstance(body, dict), body
    assert list(body) == ENVELOPE_KEYS, body
    assert isinstance(body["Success"], bool)
    assert isinstance(body["LoggedIn"], bool)
    assert isinstance(body["ClientExceptions"], list)
    assert isinstance(body["ServerExceptions"], list)
    for error in body["ClientExceptions"]:
        assert set(error) == CLIENT_EXCEPTION_KEYS, error
        assert all(isinstance(value, str) for value in error.values()), error
        assert error["Number"], error
    for error in body["ServerExceptions"]:
        assert set(error) == {"Message"}, error
        assert isinstance(error["Message"], str)
    if body["Success"]:
        assert body["ClientExceptions"] == [], body
        assert body["ServerExceptions"] == [], body
    else:
        assert body["Data"] is None, body
        assert body["ClientExceptions"] or body["ServerExceptions"], body


def client_exception(body: Any) -> dict[str, str]:
    """The one client exception of a failed envelope."""
    assert_envelope(body)
    assert body["Success"] is False
    (error,) = body["ClientExceptions"]
    assert isinstance(error, dict)
    return error
