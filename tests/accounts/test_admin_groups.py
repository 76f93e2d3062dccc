"""Admin API for groups, membership and grants; what whoAmI then reports."""

from __future__ import annotations

import httpx

from passport.identity.users import User
from passport.storage.tables import audit_event, group_member, permission_grant, user_group

from .support import SETUP, Accounts, Browser, client_error


async def test_groups_are_created_global_or_per_application_and_names_are_unique_there(
    admin: Browser, accounts: Accounts
) -> None:
    accounts.application("Docs")

    global_staff = await admin.post("/Admin/createGroup", {"name": "staff"})
    docs_staff = await admin.post("/Admin/createGroup", {"name": "staff", "application": "Docs"})

    assert global_staff.json()["Data"]["Group"]["Application"] is None
    assert docs_staff.json()["Data"]["Group"]["Application"] == "Docs"
    before = accounts.count(user_group)
    for body, status, number in [
        ({"name": "STAFF"}, 409, "7"),
        ({"name": "Staff", "application": "Docs"}, 409, "7"),
        ({"name": "staff", "application": "Nope"}, 404, "2"),
        ({"name": ""}, 400, "1"),
        ({"name": "x" * 65}, 400, "3"),
    ]:
        response = await admin.post("/Admin/createGroup", body)
        assert (response.status_code, client_error(response)["Number"]) == (status, number), body
    assert accounts.count(user_group) == before


async def test_members_and_grants_show_in_who_am_i_until_removed_revoked_or_deleted(
    admin: Browser, accounts: Accounts
) -> None:
    accounts.application("Docs")
    accounts.user("alice", password=None)
    alice = Browser(admin.http, token=accounts.session(accounts.services.users.get("alice")))

    async def who() -> tuple[list[str], dict[str, list[str]]]:
        data = (await alice.get("/Account/whoAmI")).json()["Data"]
        return data["Groups"], data["Permissions"]

    async def ok(path: str, body: dict[str, object]) -> dict[str, object]:
        response = await admin.post(path, body)
        assert response.status_code == 200, (path, body, response.text)
        data: dict[str, object] = response.json()["Data"]
        return data

    await ok("/Admin/createGroup", {"name": "writers", "application": "Docs"})
    member = {"group": "writers", "application": "Docs", "username": "alice"}
    assert (await ok("/Admin/addMember", member))["Added"] is True
    assert (await ok("/Admin/addMember", member))["Added"] is False
    group_grant = {
        "permission": "docs:write",
        "application": "Docs",
        "group": "writers",
        "groupApplication": "Docs",
    }
    user_grant = {"permission": "docs:read", "application": "Docs", "username": "alice"}
    assert (await ok("/Admin/grant", group_grant))["Granted"] is True
    assert (await ok("/Admin/grant", group_grant))["Granted"] is False
    assert (await ok("/Admin/grant", user_grant))["Granted"] is True
    assert await who() == (["Docs/writers"], {"Docs": ["docs:read", "docs:write"]})

    grants = (await admin.get("/Admin/listGrants", {"application": "Docs"})).json()["Data"]
    assert grants["Grants"] == [
        {"Application": "Docs", "Permission": "docs:read", "Group": None, "User": "alice"},
        {"Application": "Docs", "Permission": "docs:write", "Group": "writers", "User": None},
    ]

    assert (await ok("/Admin/revoke", user_grant))["Revoked"] is True
    assert (await ok("/Admin/revoke", user_grant))["Revoked"] is False
    assert await who() == (["Docs/writers"], {"Docs": ["docs:write"]})
    assert (await ok("/Admin/removeMember", member))["Removed"] is True
    assert (await ok("/Admin/removeMember", member))["Removed"] is False
    assert await who() == ([], {})
    assert (await ok("/Admin/addMember", member))["Added"] is True
    assert await who() == (["Docs/writers"], {"Docs": ["docs:write"]})

    deleted = await ok("/Admin/deleteGroup", {"name": "writers", "application": "Docs"})
    assert deleted["Deleted"] == "Docs/writers"
    assert await who() == ([], {})
    assert accounts.count(group_member) == 0
    remaining = (await admin.get("/Admin/listGrants")).json()["Data"]["Grants"]
    assert [grant["Permission"] for grant in remaining] == ["passport:admin"]
    again = await admin.post("/Admin/deleteGroup", {"name": "writers", "application": "Docs"})
    assert (again.status_code, client_error(again)["Number"]) == (404, "2")


async def test_a_grant_to_a_missing_group_or_user_is_refused_and_writes_nothing(
    admin: Browser, accounts: Accounts, admin_user: User
) -> None:
    accounts.application("Docs")
    accounts.services.groups.create("staff", None, SETUP)
    before = (accounts.count(permission_grant), accounts.count(audit_event))

    read = {"permission": "docs:read", "application": "Docs"}
    cases = [
        ({**read, "group": "nope"}, 404, "2", "group"),
        ({**read, "group": "staff", "groupApplication": "Docs"}, 404, "2", "group"),  # global
        ({**read, "username": "nobody"}, 404, "2", "username"),
        ({**read, "application": "Nope", "group": "staff"}, 404, "2", "application"),
        ({"permission": "docs:read", "group": "staff"}, 400, "1", "application"),
        (read, 400, "1", "group"),
        ({**read, "group": "staff", "username": "root"}, 400, "3", "group"),
        ({**read, "permission": "docs read", "group": "staff"}, 400, "3", "permission"),
        ({"application": "Docs", "group": "staff"}, 400, "1", "permission"),
    ]
    for body, status, number, source in cases:
        response = await admin.post("/Admin/grant", body)
        error = client_error(response)
        assert (response.status_code, error["Number"], error["Source"]) == (
            status,
            number,
            source,
        ), body

    assert (accounts.count(permission_grant), accounts.count(audit_event)) == before


async def test_a_global_group_grants_permissions_in_any_application(
    client: httpx.AsyncClient, admin: Browser, accounts: Accounts
) -> None:
    accounts.application("Docs")
    accounts.application("Wiki")
    accounts.user("alice", password=None)
    for path, body in [
        ("/Admin/createGroup", {"name": "staff"}),
        ("/Admin/addMember", {"group": "staff", "username": "alice"}),
        ("/Admin/grant", {"permission": "docs:read", "application": "Docs", "group": "staff"}),
        ("/Admin/grant", {"permission": "wiki:read", "application": "Wiki", "group": "staff"}),
    ]:
        assert (await admin.post(path, body)).status_code == 200, (path, body)

    alice = Browser(client, token=accounts.session(accounts.services.users.get("alice")))
    data = (await alice.get("/Account/whoAmI")).json()["Data"]

    assert data["Groups"] == ["staff"]
    assert data["Permissions"] == {"Docs": ["docs:read"], "Wiki": ["wiki:read"]}
