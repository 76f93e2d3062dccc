"""`Account/register`: self-registration, only when switched on, under the same rules."""

from __future__ import annotations

from passport.storage.tables import user_account

from .conftest import ClientMaker
from .support import CLIENT_ADDRESS, Accounts, Browser, client_error

NEW_PASSWORD = "my own long passphrase"


async def test_self_registration_when_switched_on_creates_an_account_that_can_log_in(
    make_client: ClientMaker, accounts: Accounts
) -> None:
    browser = Browser(await make_client(self_registration=True))

    created = await browser.post(
        "/Account/register",
        {
            "username": "Newbie",
            "password": NEW_PASSWORD,
            "email": "newbie@example.org",
            "displayName": "New B.",
        },
    )

    assert created.status_code == 200, created.text
    assert created.json()["Data"]["User"]["Name"] == "Newbie"
    assert (await browser.login("newbie", NEW_PASSWORD)).status_code == 200
    (event,) = accounts.audit("user.create")
    assert (event["actor"], event["target"], event["client_address"], event["success"]) == (
        "anonymous",
        "user:Newbie",
        CLIENT_ADDRESS,
        True,
    )
    before = accounts.count(user_account)
    for body, status, number in [
        ({"username": "NEWBIE", "password": NEW_PASSWORD}, 409, "7"),
        ({"username": "other", "password": "password1"}, 400, "12"),
        ({"username": "other", "password": "short"}, 400, "12"),
        ({"username": "other"}, 400, "1"),
        ({"password": NEW_PASSWORD}, 400, "1"),
    ]:
        response = await Browser(browser.http).post("/Account/register", body)
        assert (response.status_code, client_error(response)["Number"]) == (status, number), body
    assert accounts.count(user_account) == before
