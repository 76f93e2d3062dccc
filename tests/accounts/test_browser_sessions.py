"""First-party browser sessions: the `__Host-passport` cookie, fixation, logout, LoggedIn."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import httpx

from passport.storage.tables import login_session

from .support import (
    COOKIE,
    PASSWORD,
    Accounts,
    Browser,
    ManualClock,
    client_error,
    error_number,
    session_cookie_of,
)

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


async def test_login_sets_exactly_the_host_cookie_and_answers_the_user(
    client: httpx.AsyncClient, accounts: Accounts, clock: ManualClock
) -> None:
    alice = accounts.user("Alice")

    response = await client.post("/Account/login", json={"username": "ALICE", "password": PASSWORD})

    assert response.status_code == 200
    set_cookie = session_cookie_of(response)
    assert set_cookie is not None
    match = re.fullmatch(rf"{COOKIE}=([^;]*); Secure; HttpOnly; SameSite=Lax; Path=/", set_cookie)
    assert match is not None, set_cookie
    token = match.group(1)
    assert TOKEN.fullmatch(token), "a 256-bit random token, URL-safe"
    assert len(response.headers.get_list("set-cookie")) == 1
    body = response.json()
    assert body["Success"] is True
    assert body["LoggedIn"] is True
    expires = (clock.now() + timedelta(minutes=30)).isoformat(timespec="seconds") + "Z"
    assert body["Data"] == {"User": {"ID": alice.id, "Name": "Alice"}, "ExpiresAt": expires}


async def test_the_session_row_holds_the_sha256_of_the_token_and_never_the_token(
    browser: Browser, accounts: Accounts
) -> None:
    alice = accounts.user("alice")

    await browser.login("alice")

    assert browser.token is not None
    (row,) = accounts.rows(login_session)
    assert row["token_hash"] == hashlib.sha256(browser.token.encode()).hexdigest()
    assert row["user_id"] == alice.id
    assert row["application_id"] is None
    assert all(browser.token not in str(value) for value in row.values())


async def test_a_cookie_forged_before_login_is_never_the_session_token(
    browser: Browser, accounts: Accounts
) -> None:
    accounts.user("alice")
    forged = "attacker-chosen-token-" + "x" * 21
    browser.token = forged

    response = await browser.login("alice")

    assert response.status_code == 200
    assert browser.token is not None
    assert browser.token != forged
    assert await browser.logged_in()
    assert not await Browser(browser.http, token=forged).logged_in()


async def test_login_over_a_live_session_issues_a_new_token_and_ends_the_old_session(
    browser: Browser, accounts: Accounts
) -> None:
    alice = accounts.user("alice")
    previous = accounts.session(alice)
    browser.token = previous
    assert await browser.logged_in()

    response = await browser.login("alice")

    assert response.status_code == 200
    assert browser.token not in (None, previous)
    assert await browser.logged_in()
    assert not await Browser(browser.http, token=previous).logged_in()
    revoked = [row for row in accounts.rows(login_session) if row["revoked_at"] is not None]
    assert [row["token_hash"] for row in revoked] == [hashlib.sha256(previous.encode()).hexdigest()]


async def test_logout_ends_the_session_on_the_server_and_clears_the_cookie(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    alice = accounts.user("alice")
    browser = Browser(client, token=accounts.session(alice))
    old_token = browser.token

    response = await browser.post("/Account/logout")

    assert response.status_code == 200
    assert response.json()["LoggedIn"] is False
    assert response.json()["Data"] == {"LoggedOut": True}
    assert session_cookie_of(response) == (
        f"{COOKIE}=; Secure; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
    )
    assert browser.token is None
    replay = Browser(client, token=old_token)
    who = await replay.get("/Account/whoAmI")
    assert who.status_code == 401
    assert who.json()["LoggedIn"] is False
    assert error_number(who) == "8"
    (row,) = accounts.rows(login_session)
    assert row["revoked_at"] is not None
    again = await replay.post("/Account/logout")
    assert again.json()["Data"] == {"LoggedOut": False}


async def test_logged_in_reflects_the_session_in_every_envelope(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    alice = accounts.user("alice")
    requests = [
        ("GET", "/Service/getApplication", {"name": "Passport"}, 200),
        ("GET", "/Service/getApplication", {}, 400),
        ("GET", "/Service/noSuchMethod", {}, 404),
        ("GET", "/Account/login", {}, 405),
        ("GET", "/Account/whoAmI", {}, None),
        ("GET", "/Permission/check", {"permission": "docs:read", "application": "Passport"}, None),
    ]
    for token, logged_in in [
        (accounts.session(alice), True),
        (None, False),
        ("not-a-session-token", False),
    ]:
        browser = Browser(client, token=token)
        for method, path, params, status in requests:
            response = await browser.request(method, path, params=params)
            if status is not None:
                assert response.status_code == status, (path, response.text)
            assert response.json()["LoggedIn"] is logged_in, (token, method, path, params)


async def test_whoami_without_a_live_session_is_number_8_with_401(
    client: httpx.AsyncClient,
) -> None:
    for token in (None, "forged", ""):
        response = await Browser(client, token=token).get("/Account/whoAmI")
        assert response.status_code == 401
        assert response.json()["LoggedIn"] is False
        error = client_error(response)
        assert error["Number"] == "8"
        assert error["Source"] == "session"
