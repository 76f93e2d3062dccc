"""Admin API for users: who may call it, create, list, lock and unlock, reset a password."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx

from passport.storage.tables import password_reset

from .support import (
    PASSWORD,
    Accounts,
    Browser,
    ManualClock,
    basic_auth,
    client_error,
    error_number,
    operations,
)

NEW_PASSWORD = "a new and long passphrase"
FULLWIDTH_CAROL = "\uff43\uff41\uff52\uff4f\uff4c"  # NFKC makes it "carol"


async def test_admin_methods_need_a_session_with_passport_admin(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin_methods = await operations(client, "Admin")
    user = Browser(client, token=accounts.session(accounts.user("alice", password=None)))
    anonymous = Browser(client)
    arguments = {"username": "alice", "name": "Docs", "password": NEW_PASSWORD, "admin": True}
    before = accounts.row_counts()

    for method in admin_methods:
        verb = "POST" if "POST" in method.http_methods else "GET"
        for who, status, number in ((anonymous, 401, "8"), (user, 403, "9")):
            response = await who.request(
                verb,
                f"/{method.route}",
                json=arguments if verb == "POST" else None,
                params=None if verb == "POST" else {"limit": 5},
            )
            assert (response.status_code, error_number(response)) == (status, number), (
                method.route,
                status,
            )

    assert len(admin_methods) >= 16
    assert accounts.row_counts() == before


async def test_create_user_with_the_admin_flag_makes_an_administrator(
    admin: Browser, accounts: Accounts
) -> None:
    created = await admin.post(
        "/Admin/createUser",
        {
            "username": "Carol",
            "password": NEW_PASSWORD,
            "email": "carol@example.org",
            "displayName": "Carol C.",
            "admin": True,
        },
    )
    plain = await admin.post("/Admin/createUser", {"username": "dave"})

    assert created.status_code == 200, created.text
    user = created.json()["Data"]["User"]
    assert {k: user[k] for k in ("Name", "Email", "DisplayName", "Locked", "LastLoginAt")} == {
        "Name": "Carol",
        "Email": "carol@example.org",
        "DisplayName": "Carol C.",
        "Locked": False,
        "LastLoginAt": None,
    }
    assert "Password" not in str(user)
    assert plain.status_code == 200
    grants = (await admin.get("/Admin/listGrants", {"application": "Passport"})).json()["Data"]
    carol_admin = {"Application": "Passport", "Permission": "passport:admin", "Group": None}
    assert {**carol_admin, "User": "Carol"} in grants["Grants"]
    assert all(grant["User"] != "dave" for grant in grants["Grants"])
    carol = Browser(admin.http)
    assert (await carol.login("carol", NEW_PASSWORD)).status_code == 200
    assert (await carol.get("/Admin/listUsers")).status_code == 200
    dave = Browser(admin.http, token=accounts.session(accounts.services.users.get("dave")))
    assert error_number(await dave.get("/Admin/listUsers")) == "9"
    assert error_number(await Browser(admin.http).login("dave", NEW_PASSWORD)) == "10"


async def test_create_user_refuses_a_taken_name_in_any_case_and_bad_arguments(
    admin: Browser, accounts: Accounts
) -> None:
    accounts.user("carol", password=None)
    before = accounts.row_counts()

    cases = [
        ({"username": "CAROL"}, 409, "7", "username"),
        ({"username": FULLWIDTH_CAROL}, 409, "7", "username"),
        ({}, 400, "1", "username"),
        ({"username": "has space"}, 400, "3", "username"),
        ({"username": "x" * 65}, 400, "3", "username"),
        ({"username": 5}, 400, "3", "username"),
        ({"username": "erin", "email": "not an address"}, 400, "3", "email"),
        ({"username": "erin", "admin": "maybe"}, 400, "3", "admin"),
    ]
    for body, status, number, source in cases:
        response = await admin.post("/Admin/createUser", body)
        error = client_error(response)
        assert (response.status_code, error["Number"], error["Source"]) == (
            status,
            number,
            source,
        ), body

    after = accounts.row_counts()
    assert after.pop("audit_event") == before.pop("audit_event") + 2  # the two refused takes
    assert after == before
    refused = accounts.audit("user.create")
    assert [(e["target"], e["success"]) for e in refused] == [
        ("user:CAROL", False),
        (f"user:{FULLWIDTH_CAROL}", False),
    ]


async def test_list_users_pages_by_id_and_tells_the_total(
    admin: Browser, accounts: Accounts, admin_user: object
) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5", "u6"):
        accounts.user(name, password=None)

    async def page(**params: object) -> tuple[list[str], int]:
        response = await admin.get("/Admin/listUsers", params)
        assert response.status_code == 200, response.text
        data = response.json()["Data"]
        return [user["Name"] for user in data["Users"]], data["Total"]

    assert await page() == (["root", "u1", "u2", "u3", "u4", "u5", "u6"], 7)
    assert await page(offset=2, limit=3) == (["u2", "u3", "u4"], 7)
    assert await page(offset=6, limit=3) == (["u6"], 7)
    assert await page(offset=50) == ([], 7)
    assert await page(limit=100000) == (["root", "u1", "u2", "u3", "u4", "u5", "u6"], 7)
    bad = await admin.get("/Admin/listUsers", {"limit": "ten"})
    assert (bad.status_code, client_error(bad)["Number"], client_error(bad)["Source"]) == (
        400,
        "3",
        "limit",
    )


async def test_locking_a_user_ends_their_sessions_at_once_and_unlocking_lets_them_back(
    admin: Browser, accounts: Accounts
) -> None:
    alice = accounts.user("alice")
    docs = accounts.application("Docs")
    browser = Browser(admin.http, token=accounts.session(alice))
    app_token = accounts.session(alice, application_id=docs.application.id)

    locked = await admin.post("/Admin/lockUser", {"username": "ALICE"})

    assert locked.status_code == 200
    assert locked.json()["Data"]["User"]["Locked"] is True
    assert not await browser.logged_in()
    validated = await admin.http.post(
        "/Session/validate", json={"token": app_token}, auth=basic_auth(docs)
    )
    assert validated.json()["Data"] == {"Valid": False}
    assert error_number(await Browser(admin.http).login("alice")) == "10"
    assert error_number(await admin.post("/Admin/lockUser", {"username": "nobody"})) == "2"

    unlocked = await admin.post("/Admin/unlockUser", {"username": "alice"})

    assert unlocked.json()["Data"]["User"]["Locked"] is False
    assert not await browser.logged_in(), "unlocking does not bring old sessions back"
    assert (await Browser(admin.http).login("alice")).status_code == 200
    changes = [(e["actor"], e["action"], e["target"]) for e in accounts.audit() if e["success"]]
    assert ("user:root", "user.lock", "user:alice") in changes
    assert ("user:root", "user.unlock", "user:alice") in changes


async def test_a_reset_token_sets_a_new_password_once_within_an_hour(
    admin: Browser, accounts: Accounts, clock: ManualClock
) -> None:
    alice = accounts.user("alice")
    alices_browser = Browser(admin.http, token=accounts.session(alice))
    anonymous = Browser(admin.http)

    issued = await admin.post("/Admin/resetPassword", {"username": "alice"})

    assert issued.status_code == 200
    data = issued.json()["Data"]
    token = data["Token"]
    assert data["User"] == {"ID": alice.id, "Name": "alice"}
    assert data["ExpiresAt"] == (clock.now() + timedelta(hours=1)).isoformat() + "Z"
    (row,) = accounts.rows(password_reset)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in row.values())

    weak = await anonymous.post("/Account/resetPassword", {"token": token, "newPassword": "short"})
    assert error_number(weak) == "12", "the policy applies, and the token is not used up"
    redeemed = await anonymous.post(
        "/Account/resetPassword", {"token": token, "newPassword": NEW_PASSWORD}
    )
    assert redeemed.status_code == 200
    assert redeemed.json()["Data"]["User"] == {"ID": alice.id, "Name": "alice"}
    assert not await alices_browser.logged_in(), "a reset ends every session of the user"
    again = await anonymous.post(
        "/Account/resetPassword", {"token": token, "newPassword": "another long passphrase"}
    )
    assert (again.status_code, error_number(again)) == (400, "16")
    assert (await Browser(admin.http).login("alice", NEW_PASSWORD)).status_code == 200

    late = (await admin.post("/Admin/resetPassword", {"username": "alice"})).json()["Data"]
    clock.advance(hours=1)
    expired = await anonymous.post(
        "/Account/resetPassword", {"token": late["Token"], "newPassword": "another passphrase"}
    )
    assert error_number(expired) == "16"
    for garbage in ("A" * 43, "garbage", "x" * 5000):
        response = await anonymous.post(
            "/Account/resetPassword", {"token": garbage, "newPassword": "another passphrase"}
        )
        assert error_number(response) == "16", garbage
    missing = await anonymous.post("/Account/resetPassword", {"newPassword": "another passphrase"})
    assert error_number(missing) == "1"
    assert (await Browser(admin.http).login("alice", NEW_PASSWORD)).status_code == 200
    assert error_number(await Browser(admin.http).login("alice", PASSWORD)) == "10"
