"""The audit log: one event per change and per login, never rewritten, read with since/limit."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from .support import (
    CLIENT_ADDRESS,
    PASSWORD,
    SETUP,
    Accounts,
    Browser,
    ManualClock,
    basic_auth,
    client_error,
)


def api_events(response: Any) -> list[dict[str, Any]]:
    """The events of an auditLog answer, without those the test setup wrote."""
    assert response.status_code == 200, response.text
    return [e for e in response.json()["Data"]["Events"] if e["Actor"] != SETUP.name]


async def test_the_audit_log_tells_who_did_what_to_whom_from_where_and_how_it_went(
    admin: Browser, accounts: Accounts
) -> None:
    accounts.user("alice")
    accounts.user("bob", password=None)
    browser = Browser(admin.http)
    await browser.login("alice", "not the password")
    await browser.login("alice", PASSWORD)
    await admin.post("/Admin/lockUser", {"username": "bob"})

    events = api_events(await admin.get("/Admin/auditLog"))

    for event in events:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event.pop("At"))
    assert events == [
        {
            "Actor": "anonymous",
            "Action": "account.login",
            "Target": "user:alice",
            "ClientAddress": CLIENT_ADDRESS,
            "Result": "failure",
            "Detail": "wrong password",
        },
        {
            "Actor": "user:alice",
            "Action": "account.login",
            "Target": "user:alice",
            "ClientAddress": CLIENT_ADDRESS,
            "Result": "success",
            "Detail": "",
        },
        {
            "Actor": "user:root",
            "Action": "user.lock",
            "Target": "user:bob",
            "ClientAddress": CLIENT_ADDRESS,
            "Result": "success",
            "Detail": "",
        },
    ]


async def test_the_audit_log_reads_from_a_time_on_and_at_most_a_limit(
    admin: Browser, accounts: Accounts, clock: ManualClock
) -> None:
    for name in ("u1", "u2"):
        await admin.post("/Admin/createUser", {"username": name})
    clock.advance(minutes=10)
    since = clock.now()
    for name in ("u3", "u4", "u5"):
        await admin.post("/Admin/createUser", {"username": name})

    def targets(response: Any) -> list[str]:
        return [event["Target"] for event in api_events(response)]

    iso = since.isoformat()
    assert targets(await admin.get("/Admin/auditLog", {"since": iso + "Z"})) == [
        "user:u3",
        "user:u4",
        "user:u5",
    ]
    shifted = (since + timedelta(hours=2)).isoformat() + "+02:00"
    assert len(targets(await admin.get("/Admin/auditLog", {"since": shifted}))) == 3
    assert targets(await admin.get("/Admin/auditLog", {"since": iso, "limit": 2})) == [
        "user:u3",
        "user:u4",
    ]
    everything = targets(await admin.get("/Admin/auditLog", {"limit": 1000}))
    assert everything == [f"user:u{n}" for n in range(1, 6)]
    bad = await admin.get("/Admin/auditLog", {"since": "yesterday"})
    assert (bad.status_code, client_error(bad)["Number"], client_error(bad)["Source"]) == (
        400,
        "3",
        "since",
    )


async def test_every_change_and_every_login_appends_exactly_one_event_and_none_is_rewritten(
    admin: Browser, accounts: Accounts
) -> None:
    accounts.user("alice")
    docs = accounts.application("Docs")
    browser = Browser(admin.http)
    history: list[dict[str, Any]] = accounts.audit()
    token: dict[str, str] = {}
    reset: dict[str, str] = {}

    async def login_wrong() -> None:
        await browser.login("alice", "not the password")

    async def login() -> None:
        await browser.login("alice", PASSWORD)

    async def create_session() -> None:
        response = await admin.http.post(
            "/Session/create",
            json={"username": "alice", "password": PASSWORD},
            auth=basic_auth(docs),
        )
        token["token"] = response.json()["Data"]["Token"]

    async def end_session() -> None:
        await admin.http.post("/Session/end", json=token, auth=basic_auth(docs))

    async def admin_call(path: str, body: dict[str, Any]) -> None:
        response = await admin.post(f"/Admin/{path}", body)
        assert response.status_code == 200, (path, response.text)
        if path == "resetPassword":
            reset["token"] = response.json()["Data"]["Token"]

    async def redeem() -> None:
        await Browser(admin.http).post(
            "/Account/resetPassword", {"token": reset["token"], "newPassword": "brand new words"}
        )

    async def change_password() -> None:
        await browser.post(
            "/Account/changePassword",
            {"oldPassword": "brand new words", "newPassword": "and newer words"},
        )

    group = {"group": "staff", "username": "carol"}
    grant = {"permission": "docs:read", "application": "Docs", "group": "staff"}
    steps: list[tuple[str, Callable[[], Awaitable[Any]], list[tuple[str, str]]]] = [
        ("wrong password", login_wrong, [("account.login", "failure")]),
        ("login", login, [("account.login", "success")]),
        ("Session/create", create_session, [("session.create", "success")]),
        ("Session/end", end_session, [("session.end", "success")]),
        ("logout", lambda: browser.post("/Account/logout"), [("account.logout", "success")]),
        (
            "createUser with admin",
            lambda: admin_call("createUser", {"username": "carol", "admin": True}),
            [("user.create", "success"), ("grant.add", "success")],
        ),
        (
            "createUser, name taken",
            lambda: admin.post("/Admin/createUser", {"username": "Carol"}),
            [("user.create", "failure")],
        ),
        (
            "createApplication",
            lambda: admin_call("createApplication", {"name": "Wiki"}),
            [("application.create", "success")],
        ),
        (
            "rotateSecret",
            lambda: admin_call("rotateSecret", {"name": "Wiki"}),
            [("application.rotate_secret", "success")],
        ),
        (
            "setOrigins",
            lambda: admin_call("setOrigins", {"name": "Wiki", "origins": "https://wiki.example"}),
            [("application.set_origins", "success")],
        ),
        (
            "createGroup",
            lambda: admin_call("createGroup", {"name": "staff"}),
            [("group.create", "success")],
        ),
        ("addMember", lambda: admin_call("addMember", group), [("group.add_member", "success")]),
        ("grant", lambda: admin_call("grant", grant), [("grant.add", "success")]),
        ("revoke", lambda: admin_call("revoke", grant), [("grant.remove", "success")]),
        (
            "removeMember",
            lambda: admin_call("removeMember", group),
            [("group.remove_member", "success")],
        ),
        (
            "deleteGroup",
            lambda: admin_call("deleteGroup", {"name": "staff"}),
            [("group.delete", "success")],
        ),
        (
            "lockUser",
            lambda: admin_call("lockUser", {"username": "carol"}),
            [("user.lock", "success")],
        ),
        (
            "unlockUser",
            lambda: admin_call("unlockUser", {"username": "carol"}),
            [("user.unlock", "success")],
        ),
        (
            "resetPassword",
            lambda: admin_call("resetPassword", {"username": "alice"}),
            [("user.reset_token", "success")],
        ),
        ("Account/resetPassword", redeem, [("user.reset_password", "success")]),
        (
            "login with the new password",
            lambda: browser.login("alice", "brand new words"),
            [("account.login", "success")],
        ),
        (
            "changePassword",
            change_password,
            [("user.password", "success"), ("account.login", "success")],
        ),
    ]

    for label, call, expected in steps:
        await call()
        events = accounts.audit()
        assert events[: len(history)] == history, f"{label}: an earlier event changed"
        new = events[len(history) :]
        assert [(e["action"], "success" if e["success"] else "failure") for e in new] == (
            expected
        ), label
        assert all(e["client_address"] == CLIENT_ADDRESS for e in new), label
        history = events
