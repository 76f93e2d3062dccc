"""Operational endpoints: /healthz, /readyz, /metrics, /openapi.json."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passport.storage.database import Database
from passport.storage.migrate import MigrationError, head_revision, is_current
from passport.web.metrics import Metrics
from passport.web.state import request_state

log = structlog.get_logger("passport.ops")


async def healthz(request: Request) -> Response:
    """Alive: the process answers."""
    request_state(request.scope).route = "/healthz"
    return JSONResponse({"status": "ok"}, headers={"cache-control": "no-store"})


class Readiness:
    """Ready: the database answers and its migrations are current."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def endpoint(self, request: Request) -> Response:
        request_state(request.scope).route = "/readyz"
        try:
            current = await run_in_threadpool(is_current, self.database)
        except (SQLAlchemyError, MigrationError, OSError) as exc:
            log.warning("readyz.database_unreachable", error=type(exc).__name__)
            return _status(503, "database unreachable")
        if not current:
            return _status(
                503, f"database not at migration {head_revision()}; run passport db upgrade"
            )
        return _status(200, "ready")


def _status(code: int, detail: str) -> Response:
    body = {"status": "ready" if code == 200 else "unavailable", "detail": detail}
    return JSONResponse(body, status_code=code, headers={"cache-control": "no-store"})


class MetricsEndpoint:
    """Prometheus text exposition."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def endpoint(self, request: Request) -> Response:
        request_state(request.scope).route = "/metrics"
        body = await run_in_threadpool(self.metrics.exposition)
        return Response(body, media_type=self.metrics.content_type)


class OpenApiEndpoint:
    """The OpenAPI document of the envelope API, built once."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    async def endpoint(self, request: Request) -> Response:
        request_state(request.scope).route = "/openapi.json"
        return JSONResponse(self.document)
