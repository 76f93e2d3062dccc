"""Inline reads run on the event loop only when a reader connection is free at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from passport.app import create_app
from passport.config import Settings
from passport.services import Services
from passport.storage.database import Database

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_with_every_reader_connection_taken_a_read_waits_off_the_event_loop(
    settings: Settings,
) -> None:
    small = settings.model_copy(update={"db_pool_size": 1})  # a reader pool of 1 + 1 overflow
    services = Services.from_settings(small)
    database = services.database
    docs = services.applications.add("Docs").application
    assert database.reader is not None
    transport = httpx.ASGITransport(app=create_app(small, services), client=("203.0.113.7", 1))
    held = [database.reader.connect() for _ in range(2)]
    try:
        assert not database.reader_free()
        async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as c:
            waiting = asyncio.create_task(c.get("/Service/getApplication", params={"name": "Docs"}))
            # The loop still serves while the read waits in the threadpool for a connection.
            health = await asyncio.wait_for(c.get("/healthz"), timeout=10)
            assert health.status_code == 200
            assert not waiting.done()
            held.pop().close()
            answered = await asyncio.wait_for(waiting, timeout=10)
        assert answered.status_code == 200
        assert answered.json()["Data"]["Application"]["ID"] == docs.id
    finally:
        for connection in held:
            connection.close()
        database.dispose()


def test_a_free_connection_lets_reads_run_inline(database: Database) -> None:
    assert database.reader_free()
    with database.read():
        assert database.reader_free()  # the pool may still open another at once
