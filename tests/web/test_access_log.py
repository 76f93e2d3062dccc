"""The access log: one JSON line per answered request, the same keys as every other line."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from passport.app import create_app
from passport.config import Settings
from passport.services import Services

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


async def logged_lines(
    settings: Settings,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    **overrides: Any,
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    app = create_app(settings.model_copy(update={"log_format": "json", **overrides}), services)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # where the access log writes
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as client:
        response = await client.get(path)
    return response, [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_each_request_is_one_json_line_with_structlogs_keys(
    settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    response, lines = await logged_lines(
        settings, services, monkeypatch, "/Service/getApplication?name=Passport"
    )

    (line,) = lines
    assert list(line) == [
        "request_id",
        "client",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "event",
        "level",
        "timestamp",
    ]
    assert line["request_id"] == response.headers["x-request-id"]
    assert (line["client"], line["method"], line["path"]) == (
        "203.0.113.7",
        "GET",
        "/Service/getApplication",
    )
    assert (line["route"], line["status"], line["event"], line["level"]) == (
        "Service/getApplication",
        200,
        "request",
        "info",
    )
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert TIMESTAMP.fullmatch(line["timestamp"])
    logged_at = datetime.fromisoformat(line["timestamp"].removesuffix("Z"))
    assert 0 <= (logged_at - before).total_seconds() < 60


async def test_a_path_with_quotes_and_newlines_stays_one_valid_line(
    settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, lines = await logged_lines(settings, services, monkeypatch, '/a%22b%5C%0A%7D"')
    (line,) = lines
    assert line["path"] == '/a"b\\\n}"'
    assert line["status"] == 404


async def test_no_access_lines_above_level_info(
    settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    response, lines = await logged_lines(
        settings, services, monkeypatch, "/healthz", log_level="warning"
    )
    assert response.status_code == 200
    assert lines == []
