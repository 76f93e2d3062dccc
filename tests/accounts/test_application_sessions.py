"""Session/create, validate, end and Permission/check: applications with HTTP Basic."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import httpx
import pytest

from passport.identity import applications
from passport.identity.secrets import token_matches
from passport.storage.tables import login_session

from .support import (
    PASSWORD,
    SETUP,
    Accounts,
    Browser,
    ManualClock,
    VerifyCounter,
    basic_auth,
    basic_header,
    client_error,
)


async def test_an_application_opens_validates_and_ends_a_session_for_its_user(
    client: httpx.AsyncClient, accounts: Accounts, clock: ManualClock
) -> None:
    groups = accounts.services.groups
    alice = accounts.user("alice")
    docs = accounts.application("Docs")
    writers = groups.create("writers", "Docs", SETUP)
    groups.add_member(writers, alice, SETUP)
    groups.grant("docs:write", "Docs", SETUP, group=writers)
    auth = basic_auth(docs)
    expires = (clock.now() + timedelta(minutes=30)).isoformat(timespec="seconds") + "Z"

    created = await client.post(
        "/Session/create", json={"username": "Alice", "password": PASSWORD}, auth=auth
    )

    assert created.status_code == 200
    assert "set-cookie" not in created.headers
    assert created.json()["LoggedIn"] is False
    data = created.json()["Data"]
    token = data.pop("Token")
    assert data == {"User": {"ID": alice.id, "Name": "alice"}, "ExpiresAt": expires}
    (row,) = accounts.rows(login_session)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["application_id"] == docs.application.id

    validated = await client.post("/Session/validate", json={"token": token}, auth=auth)
    assert validated.status_code == 200
    assert validated.json()["Data"] == {
        "Valid": True,
        "User": {"ID": alice.id, "Name": "alice"},
        "Groups": ["Docs/writers"],
        "Permissions": {"Docs": ["docs:write"]},
        "ExpiresAt": expires,
    }

    ended = await client.post("/Session/end", json={"token": token}, auth=auth)
    assert ended.json()["Data"] == {"Ended": True}
    after = await client.post("/Session/validate", json={"token": token}, auth=auth)
    assert after.json()["Data"] == {"Valid": False}
    again = await client.post("/Session/end", json={"token": token}, auth=auth)
    assert again.json()["Data"] == {"Ended": False}
    actions = [(e["actor"], e["action"], e["success"]) for e in accounts.audit()]
    assert actions == [("user:alice", "session.create", True), ("app:Docs", "session.end", True)]


async def test_validate_answers_valid_false_for_anything_but_a_live_token_of_the_caller(
    client: httpx.AsyncClient, accounts: Accounts, clock: ManualClock
) -> None:
    alice = accounts.user("alice", password=None)
    docs = accounts.application("Docs")
    wiki = accounts.application("Wiki")
    stale = accounts.session(alice, application_id=docs.application.id)
    clock.advance(minutes=31)
    live = accounts.session(alice, application_id=docs.application.id)
    ended = accounts.session(alice, application_id=docs.application.id)
    assert accounts.services.sessions.end(ended, application_id=docs.application.id)
    not_yours = {
        "unknown": "A" * 43,
        "expired": stale,
        "ended": ended,
        "another application's": accounts.session(alice, application_id=wiki.application.id),
        "a browser cookie's": accounts.session(alice),
        "garbage": "!!! not a token ; DROP TABLE login_session",
        "empty": "",
        "overlong": live * 100,
        "with a NUL": live + "\x00",
        "with a lone surrogate": live[:-1] + "\udc80",
    }

    for label, token in not_yours.items():
        response = await Browser(client).post(
            "/Session/validate",
            {"token": token},
            Authorization=basic_header(docs),
        )
        assert response.status_code == 200, label
        body = response.json()
        assert (body["Success"], body["Data"]) == (True, {"Valid": False}), label

    valid = await client.post("/Session/validate", json={"token": live}, auth=basic_auth(docs))
    assert valid.json()["Data"]["Valid"] is True


async def test_a_browser_cannot_use_an_application_token_as_its_cookie(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    alice = accounts.user("alice", password=None)
    docs = accounts.application("Docs")

    browser = Browser(client, token=accounts.session(alice, application_id=docs.application.id))

    assert not await browser.logged_in()


async def test_wrong_or_missing_application_credentials_are_number_13_and_do_nothing(
    client: httpx.AsyncClient, accounts: Accounts, verifies: VerifyCounter
) -> None:
    accounts.user("alice")
    docs = accounts.application("Docs")
    app_id = str(docs.application.id)
    passport_id = accounts.services.applications.get_by_name("Passport").id

    def basic(text: str) -> str:
        return "Basic " + base64.b64encode(text.encode()).decode()

    wrong = {
        "no Authorization": None,
        "wrong secret": basic(f"{app_id}:{docs.secret[:-1]}x"),
        "empty secret": basic(f"{app_id}:"),
        "unknown application": basic(f"999:{docs.secret}"),
        "application name for ID": basic(f"Docs:{docs.secret}"),
        "Passport, which has no secret": basic(f"{passport_id}:"),
        "no colon": basic(f"{app_id}{docs.secret}"),
        "not base64": "Basic %%%not-base64%%%",
        "not UTF-8": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Bearer scheme": f"Bearer {docs.secret}",
        "scheme only": "Basic",
    }
    for method, body in [
        ("/Session/create", {"username": "alice", "password": PASSWORD}),
        ("/Session/validate", {"token": "x"}),
        ("/Session/end", {"token": "x"}),
        ("/Permission/check", {"token": "x", "permission": "docs:read"}),
    ]:
        for label, authorization in wrong.items():
            headers = {} if authorization is None else {"Authorization": authorization}
            response = await client.post(method, json=body, headers=headers)
            assert response.status_code == 401, (method, label)
            assert response.headers["www-authenticate"].startswith("Basic "), (method, label)
            error = client_error(response)
            assert (error["Number"], error["Source"]) == ("13", "Authorization"), (method, label)

    assert verifies.calls == 0
    assert accounts.rows(login_session) == []
    assert accounts.audit() == []


async def test_permission_check_answers_for_a_token_and_for_the_browser_cookie(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    groups = accounts.services.groups
    alice = accounts.user("alice", password=None)
    docs = accounts.application("Docs")
    wiki = accounts.application("Wiki")
    readers = groups.create("readers", None, SETUP)
    groups.add_member(readers, alice, SETUP)
    groups.grant("docs:read", "Docs", SETUP, group=readers)
    groups.grant("wiki:edit", "Wiki", SETUP, user=alice)
    token = accounts.session(alice, application_id=docs.application.id)
    browser = Browser(client, token=accounts.session(alice))

    async def with_token(permission: str, app_token: str = token) -> httpx.Response:
        return await client.post(
            "/Permission/check",
            json={"token": app_token, "permission": permission},
            auth=basic_auth(docs),
        )

    assert (await with_token("docs:read")).json()["Data"] == {"Allowed": True}
    assert (await with_token("docs:write")).json()["Data"] == {"Allowed": False}
    # With a token the permission is looked up in the calling application only.
    assert (await with_token("wiki:edit")).json()["Data"] == {"Allowed": False}
    wiki_token = accounts.session(alice, application_id=wiki.application.id)
    foreign = await with_token("docs:read", wiki_token)
    assert (foreign.status_code, client_error(foreign)["Number"]) == (401, "8")

    async def with_cookie(permission: str, application: str | None) -> httpx.Response:
        params = {"permission": permission}
        if application is not None:
            params["application"] = application
        return await browser.get("/Permission/check", params)

    assert (await with_cookie("wiki:edit", "Wiki")).json()["Data"] == {"Allowed": True}
    assert (await with_cookie("docs:read", "Docs")).json()["Data"] == {"Allowed": True}
    assert (await with_cookie("docs:read", "Wiki")).json()["Data"] == {"Allowed": False}
    missing = await with_cookie("docs:read", None)
    assert (missing.status_code, client_error(missing)["Number"]) == (400, "1")
    unknown = await with_cookie("docs:read", "Nope")
    assert (unknown.status_code, client_error(unknown)["Number"]) == (404, "2")
    assert client_error(unknown)["Source"] == "application"
    anonymous = await Browser(client).get(
        "/Permission/check", {"permission": "docs:read", "application": "Docs"}
    )
    assert (anonymous.status_code, client_error(anonymous)["Number"]) == (401, "8")


async def test_every_validate_compares_a_secret_whatever_is_wrong(
    client: httpx.AsyncClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No shortcut around the constant-time comparison: a malformed or unknown application
    # ID, a wrong secret, a garbage token or a good one, each compares one secret hash.
    docs = accounts.application("Docs")
    token = accounts.session(
        accounts.user("alice", password=None), application_id=docs.application.id
    )
    compared: list[str] = []

    def counting(secret: str, stored_hash: str) -> bool:
        compared.append(stored_hash)
        return token_matches(secret, stored_hash)

    monkeypatch.setattr(applications, "token_matches", counting)
    good = basic_auth(docs)
    cases = [
        (httpx.BasicAuth("not-a-number", docs.secret), token, 401),
        (httpx.BasicAuth("999999", docs.secret), token, 401),
        (basic_auth(docs, "wrong secret"), token, 401),
        (good, "x" * 5000, 200),
        (good, token, 200),
    ]
    for auth, sent, status in cases:
        before = len(compared)
        response = await client.post("/Session/validate", data={"token": sent}, auth=auth)
        assert (response.status_code, len(compared) - before) == (status, 1)
