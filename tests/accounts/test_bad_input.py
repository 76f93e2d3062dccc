"""Bad input: each a specific client exception with its documented Number; nothing written."""

from __future__ import annotations

from typing import Any

import httpx

from .support import (
    PASSWORD,
    Accounts,
    Browser,
    VerifyCounter,
    basic_header,
    client_error,
    operations,
)

# (label, JSON body, Number, Source) — what Account/login and Session/create refuse up front.
MALFORMED_CREDENTIALS: list[tuple[str, dict[str, Any], str, str]] = [
    ("nothing", {}, "1", "username"),
    ("empty username", {"username": "", "password": PASSWORD}, "1", "username"),
    ("blank username", {"username": "   ", "password": PASSWORD}, "1", "username"),
    ("no password", {"username": "alice"}, "1", "password"),
    ("empty password", {"username": "alice", "password": ""}, "1", "password"),
    ("number username", {"username": 5, "password": PASSWORD}, "3", "username"),
    ("null username", {"username": None, "password": PASSWORD}, "1", "username"),
    ("list password", {"username": "alice", "password": [PASSWORD]}, "3", "password"),
    ("object password", {"username": "alice", "password": {"a": 1}}, "3", "password"),
    ("huge username", {"username": "a" * 5000, "password": PASSWORD}, "3", "username"),
    ("huge password", {"username": "alice", "password": "p" * 1025}, "3", "password"),
    ("NUL in password", {"username": "alice", "password": PASSWORD + "\x00"}, "3", "password"),
    (
        "lone surrogate in password",
        {"username": "alice", "password": "\ud800" * 9},
        "3",
        "password",
    ),
    ("NUL in username", {"username": "ali\x00ce", "password": PASSWORD}, "3", "username"),
    (
        "lone surrogate in username",
        {"username": "ali\udc00ce", "password": PASSWORD},
        "3",
        "username",
    ),
    ("control in username", {"username": "ali\x07ce", "password": PASSWORD}, "3", "username"),
]


async def test_login_and_session_create_refuse_malformed_credentials_before_any_work(
    client: httpx.AsyncClient, accounts: Accounts, verifies: VerifyCounter
) -> None:
    accounts.user("alice")
    docs = accounts.application("Docs")
    before = accounts.row_counts()
    browser = Browser(client)

    for label, body, number, source in MALFORMED_CREDENTIALS:
        for response in (
            await browser.post("/Account/login", body),
            await browser.post("/Session/create", body, Authorization=basic_header(docs)),
        ):
            assert response.status_code == 400, (label, response.text)
            error = client_error(response)
            assert (error["Number"], error["Source"]) == (number, source), (label, error)
            if source == "password":
                assert error["Value"] == "", "a password is never echoed"

    assert browser.token is None
    assert verifies.calls == 0
    assert accounts.row_counts() == before


async def test_malformed_bodies_are_refused_with_their_own_numbers(
    browser: Browser, accounts: Accounts
) -> None:
    before = accounts.row_counts()
    cases = [
        ({"Content-Type": "application/json"}, b"{not json", 400, "400"),
        ({"Content-Type": "application/json"}, b'["alice", "pw"]', 400, "400"),
        ({"Content-Type": "application/json"}, b'{"username": "a", "USERNAME": "b"}', 400, "4"),
        ({"Content-Type": "text/plain"}, b"username=alice", 415, "415"),
        (
            {"Content-Type": "application/json"},
            b'{"password": "' + b"x" * 70000 + b'"}',
            413,
            "413",
        ),
    ]
    for headers, content, status, number in cases:
        response = await browser.http.post("/Account/login", content=content, headers=headers)
        assert response.status_code == status, (content[:40], response.text)
        assert client_error(response)["Number"] == number
    assert accounts.row_counts() == before


async def test_the_password_policy_refuses_short_common_and_malformed_passwords(
    admin: Browser, accounts: Accounts
) -> None:
    before = accounts.row_counts()
    cases = [
        ("seven77", "12"),
        ("Password123", "12"),
        ("pASSWORD123", "12"),
        ("qwertyuiop", "12"),
        ("p" * 1025, "3"),
        ("long enough\x00", "3"),
        ("long enough\ud800", "3"),
    ]
    for password, number in cases:
        response = await admin.post(
            "/Admin/createUser", {"username": "carol", "password": password}
        )
        assert response.status_code == 400, password
        error = client_error(response)
        assert (error["Number"], error["Source"], error["Value"]) == (number, "password", "")
    assert accounts.row_counts() == before

    for username, password in (("eight", "8chars!?"), ("long", "p" * 1024)):
        response = await admin.post(
            "/Admin/createUser", {"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
    assert (await Browser(admin.http).login("long", "p" * 1024)).status_code == 200


async def test_self_registration_is_off_by_default(browser: Browser, accounts: Accounts) -> None:
    before = accounts.row_counts()

    response = await browser.post(
        "/Account/register", {"username": "mallory", "password": "a long enough password"}
    )

    assert response.status_code == 403
    assert client_error(response)["Number"] == "15"
    assert accounts.row_counts() == before


async def test_no_accounts_method_answers_malformed_text_with_a_server_error(
    admin: Browser, accounts: Accounts
) -> None:
    """Every string argument of every Account, Session, Permission and Admin method, in turn
    holding an unpaired surrogate, a NUL or 5000 characters."""
    accounts.user("alice", password=None)
    docs = accounts.application("Docs", "https://docs.example")
    described = await operations(admin.http, "Account", "Session", "Permission", "Admin")
    assert {"Account/login", "Session/create", "Admin/grant"} <= {m.route for m in described}
    valid = {
        "username": "alice",
        "group": "staff",
        "application": "Docs",
        "name": "Docs",
        "permission": "docs:read",
        "origins": "https://docs.example",
    }
    failures = []
    for method in described:
        post = "POST" in method.http_methods
        strings = method.string_arguments
        for name in strings:
            for bad in ("\ud800", "a\x00b", "x" * 5000):
                if not post and bad == "\ud800":
                    continue  # a query string is percent-encoded UTF-8: it cannot hold one
                arguments = {other: valid.get(other, "a long enough password") for other in strings}
                arguments[name] = bad
                response = await admin.request(
                    "POST" if post else "GET",
                    f"/{method.route}",
                    json=arguments if post else None,
                    params=None if post else arguments,
                    Authorization=basic_header(docs),
                )
                body = response.json()
                if response.status_code >= 500 or body["ServerExceptions"]:
                    failures.append((method.route, name, bad[:8], response.status_code))
    assert failures == []
