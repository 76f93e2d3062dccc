"""A crash inside a method is a server exception with a reference, never internals."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import Connection

from envelope_shape import assert_envelope
from passport.api import dispatch
from passport.app import create_app
from passport.config import Settings
from passport.identity.applications import Application, ApplicationService
from passport.identity.sessions import Session, SessionService
from passport.services import Services
from passport.web import api as web_api

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

SECRET_DETAIL = "secret-internal-detail-5f3a"


class ExplodingApplications(ApplicationService):
    """An application service whose lookups crash, as a broken dependency would."""

    def find_by_name(self, name: str, connection: Connection | None = None) -> Application | None:
        raise RuntimeError(f"database said {SECRET_DETAIL} at /srv/passport/db.py:42")


class ExplodingSessions(SessionService):
    """A session service whose lookups crash, as an unreachable database would."""

    def validate(self, *args: Any, **kwargs: Any) -> Session | None:
        raise RuntimeError(f"database said {SECRET_DETAIL}")


@pytest.fixture
async def broken_client(
    settings: Settings, services: Services
) -> AsyncIterator[tuple[httpx.AsyncClient, io.StringIO]]:
    """A client of an app whose application lookups raise, and the API's JSON log."""
    broken = dataclasses.replace(services, applications=ExplodingApplications(services.database))
    app = create_app(settings.model_copy(update={"log_format": "json"}), broken)
    stream = io.StringIO()
    config = structlog.get_config()
    logger = structlog.wrap_logger(
        structlog.WriteLogger(stream),
        processors=config["processors"],
        wrapper_class=config["wrapper_class"],
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dispatch, "log", logger)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as c:
            yield c, stream


def log_records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_crash_is_500_with_a_server_exception_naming_the_request_id(
    broken_client: tuple[httpx.AsyncClient, io.StringIO],
) -> None:
    client, _ = broken_client
    response = await client.get("/Service/getApplication", params={"name": "Passport"})
    assert response.status_code == 500
    body = response.json()
    assert_envelope(body)
    reference = response.headers["x-request-id"]
    assert body == {
        "Success": False,
        "LoggedIn": False,
        "Data": None,
        "ClientExceptions": [],
        "ServerExceptions": [{"Message": f"Internal error; reference {reference}"}],
    }


async def test_crash_answer_holds_no_internals(
    broken_client: tuple[httpx.AsyncClient, io.StringIO],
) -> None:
    client, _ = broken_client
    response = await client.get("/Service/getApplication", params={"name": "Passport"})
    for internal in (SECRET_DETAIL, "RuntimeError", "Traceback", "/srv/passport", ".py"):
        assert internal not in response.text


async def test_crash_log_line_carries_the_reference_and_the_traceback(
    broken_client: tuple[httpx.AsyncClient, io.StringIO],
) -> None:
    client, stream = broken_client
    response = await client.get("/Service/getApplication", params={"name": "Passport"})
    reference = response.headers["x-request-id"]
    (record,) = [r for r in log_records(stream) if r.get("reference") == reference]
    assert record["event"] == "api.internal_error"
    assert record["level"] == "error"
    assert record["route"] == "Service/getApplication"
    assert "Traceback" in record["exception"]
    assert "RuntimeError" in record["exception"]
    assert SECRET_DETAIL in record["exception"]


async def test_crash_under_jsonp_is_200_with_the_server_exception_inside(
    broken_client: tuple[httpx.AsyncClient, io.StringIO],
) -> None:
    client, _ = broken_client
    response = await client.get(
        "/Service/getApplication", params={"name": "Passport", "callback": "cb"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    body = json.loads(response.text.removeprefix("/**/cb(").removesuffix(");"))
    assert_envelope(body)
    reference = response.headers["x-request-id"]
    assert body["ServerExceptions"] == [{"Message": f"Internal error; reference {reference}"}]
    assert SECRET_DETAIL not in response.text


async def test_each_crash_has_its_own_reference(
    broken_client: tuple[httpx.AsyncClient, io.StringIO],
) -> None:
    client, stream = broken_client
    first = await client.get("/Service/getApplication", params={"name": "Passport"})
    second = await client.post("/Service/getApplication", data={"name": "Passport"})
    references = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(references) == 2
    logged = {r["reference"] for r in log_records(stream) if "reference" in r}
    assert references <= logged


async def test_methods_that_do_not_crash_still_answer(
    broken_client: tuple[httpx.AsyncClient, io.StringIO],
) -> None:
    client, _ = broken_client
    assert (await client.get("/Service/Index")).status_code == 200
    assert (await client.get("/Service/getApplication")).status_code == 400


async def test_crash_outside_the_method_is_a_server_exception_too(
    settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client error with a session cookie asks the session service whether the cookie is
    # live (for LoggedIn); when that crashes the answer is still the envelope.
    sessions = ExplodingSessions(
        services.database,
        services.clock,
        idle=services.sessions.idle,
        absolute=services.sessions.absolute,
    )
    broken = dataclasses.replace(services, sessions=sessions)
    app = create_app(settings.model_copy(update={"log_format": "json"}), broken)
    stream = io.StringIO()
    config = structlog.get_config()
    monkeypatch.setattr(
        web_api,
        "log",
        structlog.wrap_logger(
            structlog.WriteLogger(stream),
            processors=config["processors"],
            wrapper_class=config["wrapper_class"],
        ),
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as client:
        response = await client.get("/Nope/x", headers={"cookie": "__Host-passport=abc"})
    assert response.status_code == 500
    reference = response.headers["x-request-id"]
    assert response.json()["ServerExceptions"] == [
        {"Message": f"Internal error; reference {reference}"}
    ]
    assert SECRET_DETAIL not in response.text
    (record,) = [r for r in log_records(stream) if r.get("reference") == reference]
    assert SECRET_DETAIL in record["exception"]
