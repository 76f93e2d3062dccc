"""`Account/whoAmI`: the user, their groups, and permissions from direct and group grants."""

from __future__ import annotations

import httpx
from sqlalchemy import event

from .support import SETUP, Accounts, Browser, basic_auth


async def test_who_am_i_reports_groups_and_permissions_from_direct_and_group_grants(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    groups = accounts.services.groups
    alice = accounts.user("alice", password=None)
    bob = accounts.user("bob", password=None)
    accounts.application("Docs")
    accounts.application("Wiki")
    staff = groups.create("staff", None, SETUP)
    writers = groups.create("writers", "Docs", SETUP)
    editors = groups.create("editors", "Wiki", SETUP)
    for group in (staff, writers):
        groups.add_member(group, alice, SETUP)
    groups.add_member(editors, bob, SETUP)
    groups.grant("docs:read", "Docs", SETUP, user=alice)
    groups.grant("docs:read", "Docs", SETUP, group=writers)  # the same one twice: shown once
    groups.grant("docs:write", "Docs", SETUP, group=writers)
    groups.grant("wiki:view", "Wiki", SETUP, group=staff)
    groups.grant("wiki:edit", "Wiki", SETUP, group=editors)  # bob's group, not alice's
    groups.grant("docs:admin", "Docs", SETUP, user=bob)

    response = await Browser(client, token=accounts.session(alice)).get("/Account/whoAmI")

    assert response.status_code == 200
    body = response.json()
    assert body["LoggedIn"] is True
    assert body["Data"] == {
        "User": {"ID": alice.id, "Name": "alice"},
        "Groups": ["staff", "Docs/writers"],  # by group name
        "Permissions": {"Docs": ["docs:read", "docs:write"], "Wiki": ["wiki:view"]},
    }


async def test_who_am_i_follows_membership_and_grant_changes_at_once(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    groups = accounts.services.groups
    alice = accounts.user("alice", password=None)
    accounts.application("Docs")
    readers = groups.create("readers", "Docs", SETUP)
    groups.grant("docs:read", "Docs", SETUP, group=readers)
    browser = Browser(client, token=accounts.session(alice))

    before = (await browser.get("/Account/whoAmI")).json()["Data"]
    groups.add_member(readers, alice, SETUP)
    member = (await browser.get("/Account/whoAmI")).json()["Data"]
    groups.revoke("docs:read", "Docs", SETUP, group=readers)
    revoked = (await browser.get("/Account/whoAmI")).json()["Data"]

    assert (before["Groups"], before["Permissions"]) == ([], {})
    assert (member["Groups"], member["Permissions"]) == (["Docs/readers"], {"Docs": ["docs:read"]})
    assert (revoked["Groups"], revoked["Permissions"]) == (["Docs/readers"], {})


async def test_a_session_checks_reads_share_one_kept_connection(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    # Permission/check with a token makes three reads (the application's credentials, the
    # session, the grant); whoAmI and Session/validate make one statement each. After the
    # first request has taken a reader connection from the pool, each request's reads share
    # that kept connection: no request takes one from the pool (a read that did not share
    # would).
    alice = accounts.user("alice", password=None)
    docs = accounts.application("Docs")
    readers = accounts.services.groups.create("readers", "Docs", SETUP)
    accounts.services.groups.add_member(readers, alice, SETUP)
    accounts.services.groups.grant("docs:read", "Docs", SETUP, group=readers)
    browser = Browser(client, token=accounts.session(alice))
    token = accounts.session(alice, application_id=docs.application.id)
    reader = accounts.database.reader
    assert reader is not None
    checkouts: list[object] = []

    def count(*_: object) -> None:
        checkouts.append(_)

    assert (await browser.get("/Account/whoAmI")).json()["Success"] is True
    event.listen(reader, "checkout", count)
    answers = {}
    try:
        for name, send in (
            ("whoAmI", lambda: browser.get("/Account/whoAmI")),
            (
                "validate",
                lambda: client.post(
                    "/Session/validate", data={"token": token}, auth=basic_auth(docs)
                ),
            ),
            (
                "check",
                lambda: client.get(
                    "/Permission/check",
                    params={"token": token, "permission": "docs:read"},
                    auth=basic_auth(docs),
                ),
            ),
        ):
            before = len(checkouts)
            answers[name] = ((await send()).json()["Data"], len(checkouts) - before)
    finally:
        event.remove(reader, "checkout", count)

    assert answers["whoAmI"] == (
        {
            "User": {"ID": alice.id, "Name": "alice"},
            "Groups": ["Docs/readers"],
            "Permissions": {"Docs": ["docs:read"]},
        },
        0,
    )
    assert answers["validate"][0]["Valid"] is True
    assert answers["validate"][1] == 0
    assert answers["check"] == ({"Allowed": True}, 0)
