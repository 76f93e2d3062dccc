"""Idle and absolute session timeouts, with a clock the test moves (no sleeping)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import httpx
import pytest
import structlog
from sqlalchemy.exc import OperationalError

from passport.web import api as web_api

from .conftest import ClientMaker
from .support import Accounts, Browser, ManualClock, basic_auth


async def test_an_unused_session_ends_after_30_minutes_idle(
    client: httpx.AsyncClient, accounts: Accounts, clock: ManualClock
) -> None:
    browser = Browser(client, token=accounts.session(accounts.user("alice", password=None)))

    clock.advance(minutes=29, seconds=59)
    assert await browser.logged_in()
    clock.advance(minutes=30)

    assert not await browser.logged_in()


async def test_activity_keeps_a_session_alive_past_the_idle_timeout(
    client: httpx.AsyncClient, accounts: Accounts, clock: ManualClock
) -> None:
    browser = Browser(client, token=accounts.session(accounts.user("alice", password=None)))

    # Each use is more than a minute after the last one: last_seen is written at most
    # once a minute, so a use within the minute would not move the idle deadline.
    for _ in range(4):
        clock.advance(minutes=20)
        assert await browser.logged_in()
    clock.advance(minutes=29)
    assert await browser.logged_in()
    clock.advance(minutes=30)
    assert not await browser.logged_in()


async def _in_use_until_it_ends_12_hours_after_opening(
    browser: Browser, clock: ManualClock
) -> None:
    """Use the session every 20 minutes: live until 11:59:59 after opening, then ended."""
    for _ in range(35):  # up to 11 h 40 min
        clock.advance(minutes=20)
        assert await browser.logged_in()
    clock.advance(minutes=19, seconds=59)
    assert await browser.logged_in()
    clock.advance(seconds=1)
    assert not await browser.logged_in()


async def test_a_session_ends_12_hours_after_login_even_when_in_use(
    client: httpx.AsyncClient, accounts: Accounts, clock: ManualClock
) -> None:
    browser = Browser(client, token=accounts.session(accounts.user("alice", password=None)))

    await _in_use_until_it_ends_12_hours_after_opening(browser, clock)


async def test_application_tokens_time_out_like_browser_sessions(
    client: httpx.AsyncClient, accounts: Accounts, clock: ManualClock
) -> None:
    docs = accounts.application("Docs")
    alice = accounts.user("alice", password=None)
    token = accounts.session(alice, application_id=docs.application.id)

    async def valid() -> bool:
        response = await client.post(
            "/Session/validate", json={"token": token}, auth=basic_auth(docs)
        )
        assert response.status_code == 200
        return bool(response.json()["Data"]["Valid"])

    clock.advance(minutes=25)
    assert await valid()
    clock.advance(minutes=25)
    assert await valid()
    clock.advance(minutes=30)
    assert not await valid()


async def test_the_timeouts_follow_the_settings(
    make_client: ClientMaker, accounts: Accounts, clock: ManualClock
) -> None:
    http = await make_client(session_idle_minutes=5, session_absolute_hours=1)
    alice = accounts.user("alice")
    idle = Browser(http, token=accounts.session(alice))
    busy = Browser(http)
    assert (await busy.login("alice")).status_code == 200  # its expiry is set at login

    clock.advance(minutes=4)
    assert await busy.logged_in()
    clock.advance(minutes=1)
    assert not await idle.logged_in()
    for _ in range(13):  # used every 4 minutes until 57 minutes after login
        assert await busy.logged_in()
        clock.advance(minutes=4)
    assert await busy.logged_in()
    clock.advance(minutes=3)
    assert not await busy.logged_in()


async def test_a_shorter_absolute_timeout_also_ends_sessions_opened_before_it(
    make_client: ClientMaker, accounts: Accounts, clock: ManualClock
) -> None:
    # Opened under the default 12 hours; then the node runs with a 1-hour limit.
    docs = accounts.application("Docs")
    alice = accounts.user("alice", password=None)
    opened = clock.now()
    cookie = accounts.session(alice)
    token = accounts.session(alice, application_id=docs.application.id)
    http = await make_client(session_absolute_hours=1)
    browser = Browser(http, token=cookie)

    async def validated() -> dict[str, object]:
        response = await http.post(
            "/Session/validate", json={"token": token}, auth=basic_auth(docs)
        )
        data: dict[str, object] = response.json()["Data"]
        return data

    for _ in range(3):  # used every 19 minutes, up to 57 minutes after opening
        clock.advance(minutes=19)
        assert await browser.logged_in()
        assert (await validated())["Valid"] is True
    clock.advance(minutes=2, seconds=59)  # 59:59 after opening
    assert await browser.logged_in()
    answer = await validated()
    assert answer["Valid"] is True
    one_hour = (opened + timedelta(hours=1)).isoformat(timespec="seconds") + "Z"
    assert answer["ExpiresAt"] == one_hour  # not the 12 hours it was opened with
    clock.advance(seconds=1)
    assert not await browser.logged_in()
    assert (await validated())["Valid"] is False


async def test_a_longer_absolute_timeout_keeps_the_expiry_a_session_was_opened_with(
    make_client: ClientMaker, accounts: Accounts, clock: ManualClock
) -> None:
    cookie = accounts.session(accounts.user("alice", password=None))  # 12 hours
    browser = Browser(await make_client(session_absolute_hours=24), token=cookie)

    await _in_use_until_it_ends_12_hours_after_opening(browser, clock)


async def test_a_failed_last_seen_write_leaves_the_answer_and_is_logged(
    client: httpx.AsyncClient,
    accounts: Accounts,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The last-seen write is bookkeeping put off until after the read: if the database
    # refuses it, the request still gets the answer its read decided.
    browser = Browser(client, token=accounts.session(accounts.user("alice", password=None)))
    writes: list[int] = []

    def refuse(session_id: int, *_: object) -> None:
        writes.append(session_id)
        raise OperationalError("UPDATE login_session", {}, Exception("database is locked"))

    monkeypatch.setattr(accounts.services.sessions, "_touch", refuse)
    stream = io.StringIO()
    monkeypatch.setattr(
        web_api,
        "log",
        structlog.wrap_logger(
            structlog.WriteLogger(stream), processors=[structlog.processors.JSONRenderer()]
        ),
    )
    clock.advance(minutes=2)

    assert await browser.logged_in()
    assert len(writes) == 1
    (record,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert record["event"] == "api.deferred_write_failed"
