"""State-changing methods are POST only, and a password is never taken from a URL."""

from __future__ import annotations

from passport.storage.tables import audit_event, login_session, login_throttle

from .support import (
    PASSWORD,
    Accounts,
    Browser,
    VerifyCounter,
    basic_header,
    client_error,
    operations,
)


async def test_every_state_changing_method_answers_get_with_405(
    admin: Browser, accounts: Accounts
) -> None:
    described = await operations(admin.http, "Account", "Session", "Permission", "Admin")
    post_only = [op.route for op in described if "GET" not in op.http_methods]
    assert {"Account/login", "Account/logout", "Account/changePassword", "Session/create"} <= set(
        post_only
    )
    audit_before = accounts.count(audit_event)

    for route in post_only:
        response = await admin.get(f"/{route}", {"username": "root", "name": "x"})
        assert response.status_code == 405, route
        assert response.headers["allow"] == "POST", route
        assert client_error(response)["Number"] == "405"

    assert await admin.logged_in(), "GET /Account/logout must not log out"
    assert accounts.count(audit_event) == audit_before


async def test_a_password_in_the_url_is_never_accepted(
    browser: Browser, accounts: Accounts, verifies: VerifyCounter
) -> None:
    alice = accounts.user("alice")
    docs = accounts.application("Docs")
    credentials = {"username": "alice", "password": PASSWORD}

    for method in ("GET", "POST"):
        response = await browser.request(method, "/Account/login", params=credentials)
        assert response.status_code in (400, 405), method
        assert browser.token is None
    query_post = await browser.request("POST", "/Account/login", params=credentials)
    error = client_error(query_post)
    assert (error["Number"], error["Source"], error["Value"]) == ("3", "password", "")
    split = await browser.request(
        "POST", "/Account/login", params={"password": PASSWORD}, json={"username": "alice"}
    )
    assert split.status_code == 400
    app_login = await browser.request(
        "POST", "/Session/create", params=credentials, Authorization=basic_header(docs)
    )
    assert app_login.status_code == 400
    logged_in = Browser(browser.http, token=accounts.session(alice))
    change = await logged_in.request(
        "POST",
        "/Account/changePassword",
        params={"oldPassword": PASSWORD},
        json={"newPassword": "a new long passphrase"},
    )
    assert client_error(change)["Source"] == "oldPassword"

    assert verifies.calls == 0
    assert accounts.count(login_session) == 1  # the one opened above, by the test
    assert accounts.count(login_throttle) == 0
    assert accounts.audit() == []
