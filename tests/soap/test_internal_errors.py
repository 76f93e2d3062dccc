"""A crash in a service is a Server/Receiver fault with a reference; internals stay in the log."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import structlog

from passport.app import create_app
from passport.config import Settings
from passport.soap import endpoint

from .conftest import client_for
from .echo import ECHO_NS, SECRET
from .support import envelope, expected_code, post, read_fault

VERSIONS = ["1.1", "1.2"]
EXPLODE = f'<e:Explode xmlns:e="{ECHO_NS}"/>'


@pytest.fixture
def soap_log() -> Iterator[io.StringIO]:
    """The SOAP container's log lines, as JSON."""
    stream = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.WriteLogger(stream),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(endpoint, "log", logger)
        yield stream


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    """The log records written so far."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


@pytest.mark.parametrize("version", VERSIONS)
async def test_crash_is_a_receiver_fault_naming_the_request_id(
    client: httpx.AsyncClient, soap_log: io.StringIO, version: str
) -> None:
    response = await post(client, version, envelope(version, EXPLODE))
    assert response.status_code == 500
    fault = read_fault(response, version)
    request_id = response.headers["x-request-id"]
    assert fault.code == expected_code(version, "Receiver")
    assert fault.reason == f"Internal error; reference {request_id}"
    assert fault.detail is None
    assert SECRET.encode() not in response.content
    assert b"Traceback" not in response.content
    (record,) = records(soap_log)
    assert record["event"] == "soap.internal_error"
    assert record["reference"] == request_id
    assert record["route"] == "soap:/echo:Explode"
    assert "RuntimeError" in record["exception"]
    assert SECRET in record["exception"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_debug_mode_puts_the_backtrace_in_the_detail(
    make_settings: Callable[..., Settings], soap_log: io.StringIO, version: str
) -> None:
    app = create_app(make_settings(debug=True))
    async with client_for(app) as client:
        response = await post(client, version, envelope(version, EXPLODE))
    backtrace = read_fault(response, version).detail_entry("Backtrace").text or ""
    assert backtrace.startswith("Traceback")
    assert f"RuntimeError: echo exploded with {SECRET}" in backtrace
    assert len(records(soap_log)) == 1
