"""`Account/changePassword`: the old password is checked, the policy applies, sessions end."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from passport.storage.tables import user_account

from .support import (
    PASSWORD,
    Accounts,
    Browser,
    VerifyCounter,
    basic_auth,
    client_error,
    error_number,
)

NEW_PASSWORD = "a brand new passphrase"


def stored_hash(accounts: Accounts, username: str) -> str:
    with accounts.database.read() as connection:
        return str(
            connection.execute(
                select(user_account.c.password_hash).where(user_account.c.username == username)
            ).scalar_one()
        )


async def test_a_wrong_old_password_is_number_10_counts_as_a_failure_and_changes_nothing(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    alice = accounts.user("alice")
    browser = Browser(client, token=accounts.session(alice))
    before = stored_hash(accounts, "alice")

    response = await browser.post(
        "/Account/changePassword", {"oldPassword": "not my password", "newPassword": NEW_PASSWORD}
    )

    assert response.status_code == 401
    assert response.json()["LoggedIn"] is True
    assert error_number(response) == "10"
    assert stored_hash(accounts, "alice") == before
    assert await browser.logged_in()
    (event,) = accounts.audit("account.change_password")
    assert (event["success"], event["target"]) == (False, "user:alice")
    with accounts.database.read() as connection:
        failures = connection.execute(
            select(user_account.c.failed_logins).where(user_account.c.id == alice.id)
        ).scalar_one()
    assert failures == 1


async def test_change_password_refuses_what_the_policy_refuses_and_changes_nothing(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    alice = accounts.user("alice")
    browser = Browser(client, token=accounts.session(alice))
    before = stored_hash(accounts, "alice")
    cases = [
        ("seven77", "12"),
        ("PASSWORD123", "12"),
        ("x" * 1025, "3"),
        ("nul \x00 inside it", "3"),
    ]

    for new_password, number in cases:
        response = await browser.post(
            "/Account/changePassword", {"oldPassword": PASSWORD, "newPassword": new_password}
        )
        assert response.status_code == 400, new_password
        error = client_error(response)
        assert (error["Number"], error["Source"]) == (number, "newPassword"), new_password
        assert new_password not in error["Value"]

    assert stored_hash(accounts, "alice") == before
    assert await browser.logged_in()
    assert accounts.audit("user.password") == []


async def test_changing_the_password_ends_every_session_of_the_user_and_sets_a_new_cookie(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    alice = accounts.user("alice")
    bob = accounts.user("bob", password=None)
    docs = accounts.application("Docs")
    here = Browser(client, token=accounts.session(alice))
    old_cookie = here.token
    elsewhere = Browser(client, token=accounts.session(alice))
    app_token = accounts.session(alice, application_id=docs.application.id)
    bobs = Browser(client, token=accounts.session(bob))

    response = await here.post(
        "/Account/changePassword", {"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["LoggedIn"] is True
    assert body["Data"]["User"] == {"ID": alice.id, "Name": "alice"}
    assert here.token not in (None, old_cookie)
    assert await here.logged_in()
    assert not await Browser(client, token=old_cookie).logged_in()
    assert not await elsewhere.logged_in()
    validated = await client.post(
        "/Session/validate", json={"token": app_token}, auth=basic_auth(docs)
    )
    assert validated.json()["Data"] == {"Valid": False}
    assert await bobs.logged_in()
    assert error_number(await Browser(client).login("alice", PASSWORD)) == "10"
    assert (await Browser(client).login("alice", NEW_PASSWORD)).status_code == 200


async def test_change_password_names_the_argument_that_is_missing_or_malformed(
    client: httpx.AsyncClient, accounts: Accounts, verifies: VerifyCounter
) -> None:
    browser = Browser(client, token=accounts.session(accounts.user("alice")))
    cases = [
        ({"newPassword": NEW_PASSWORD}, "1", "oldPassword"),
        ({"oldPassword": "", "newPassword": NEW_PASSWORD}, "1", "oldPassword"),
        ({"oldPassword": "nul \x00 in it", "newPassword": NEW_PASSWORD}, "3", "oldPassword"),
        ({"oldPassword": 12345678, "newPassword": NEW_PASSWORD}, "3", "oldPassword"),
        ({"oldPassword": PASSWORD}, "1", "newPassword"),
        ({"oldPassword": PASSWORD, "newPassword": ""}, "1", "newPassword"),
    ]

    for body, number, source in cases:
        response = await browser.post("/Account/changePassword", body)
        assert response.status_code == 400, body
        error = client_error(response)
        assert (error["Number"], error["Source"], error["Value"]) == (number, source, ""), body

    anonymous = await Browser(client).post(
        "/Account/changePassword", {"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    )
    assert (anonymous.status_code, error_number(anonymous)) == (401, "8")
    assert verifies.calls == 0
    assert accounts.audit() == []
