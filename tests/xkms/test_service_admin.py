"""The administrator's side over the JSON API: a passcode issued by POST /Xkms/authorize
registers keys over XKMS within what it allows, and GET /Xkms/keys shows the bindings."""

from __future__ import annotations

from typing import Any

import httpx

from passport.api.guard import ADMIN_PERMISSION
from passport.identity.applications import PASSPORT_APPLICATION
from passport.identity.users import User

from .conftest import PUBLIC_URL, SETUP, ClientKeys, Harness
from .support import register_request, revoke_request

MAIL = ("urn:ietf:rfc:2633", "alice@example.com")
DN = ("urn:ietf:rfc:2459", 'C="US" O="Alice Corp" CN="Alice Aardvark"')
COOKIE = "__Host-passport"


def session_of(xkms: Harness, user: User) -> str:
    """A session token for the user, as a login gives."""
    with xkms.services.database.write() as connection:
        return xkms.services.sessions.create(
            connection, user.id, user.username, application_id=None, client_address="203.0.113.7"
        ).token


def administrator(xkms: Harness) -> str:
    """A session of a user holding passport:admin."""
    root = xkms.user("root")
    xkms.services.groups.grant(ADMIN_PERMISSION, PASSPORT_APPLICATION, SETUP, user=root)
    return session_of(xkms, root)


async def api(
    xkms: Harness, method: str, path: str, token: str, **arguments: Any
) -> httpx.Response:
    """A call of the envelope API from Passport's own origin with a session cookie."""
    headers = {"Origin": PUBLIC_URL, "Cookie": f"{COOKIE}={token}"}
    client = xkms.http.client
    if method == "GET":
        return await client.get(path, params=arguments, headers=headers)
    return await client.post(path, json=arguments, headers=headers)


async def test_an_admin_issued_passcode_registers_and_the_key_is_listed(
    xkms: Harness, client_keys: ClientKeys
) -> None:
    token = administrator(xkms)
    xkms.user("alice")
    key = client_keys.rsa2048[0]
    code = b"\x05" * 20

    issued = await api(
        xkms,
        "POST",
        "/Xkms/authorize",
        token,
        username="alice",
        useKeyWith=f"{MAIL[0]}={MAIL[1]}\n{DN[0]}={DN[1]}\n",
        uses=1,
    )
    assert issued.status_code == 200, issued.text
    data = issued.json()["Data"]
    assert data["User"]["Name"] == "alice"
    assert data["Uses"] == 1
    assert data["UseKeyWith"] == [
        {"Application": MAIL[0], "Identifier": MAIL[1]},
        {"Application": DN[0], "Identifier": DN[1]},
    ]
    registered = await xkms.http.send(
        register_request(xkms.service_url, key, data["Passcode"], [MAIL, DN], revocation_code=code)
    )
    assert registered.codes == ("Success", None)
    listed = await api(xkms, "GET", "/Xkms/keys", token, username="alice")
    revoked = await xkms.http.send(
        revoke_request(xkms.service_url, key.public_key(), revocation_code=code)
    )
    after = await api(xkms, "GET", "/Xkms/keys", token)

    (binding,) = listed.json()["Data"]["KeyBindings"]
    assert binding["Id"] == registered.binding().id
    assert binding["User"] == "alice"
    assert binding["UseKeyWith"] == data["UseKeyWith"]
    assert binding["KeyUsage"] == ["Signature"]
    assert binding["RevokedAt"] is None
    assert revoked.codes == ("Success", None)
    (revoked_binding,) = after.json()["Data"]["KeyBindings"]
    assert revoked_binding["RevokedAt"] is not None


async def test_an_admin_issued_passcode_expires(xkms: Harness, client_keys: ClientKeys) -> None:
    token = administrator(xkms)
    xkms.user("alice")
    issued = await api(
        xkms,
        "POST",
        "/Xkms/authorize",
        token,
        username="alice",
        useKeyWith=f"{MAIL[0]}={MAIL[1]}",
        expiresMinutes=30,
    )
    passcode = issued.json()["Data"]["Passcode"]
    xkms.clock.advance(minutes=30)

    result = await xkms.http.send(
        register_request(xkms.service_url, client_keys.rsa2048[0], passcode, [MAIL])
    )

    assert result.codes == ("Sender", "NoAuthentication")
    assert xkms.binding_count() == 0


async def test_only_an_admin_issues_passcodes_or_lists_keys(xkms: Harness) -> None:
    alice = xkms.user("alice")
    token = session_of(xkms, alice)

    issued = await api(
        xkms,
        "POST",
        "/Xkms/authorize",
        token,
        username="alice",
        useKeyWith=f"{MAIL[0]}={MAIL[1]}",
    )
    listed = await api(xkms, "GET", "/Xkms/keys", token)

    assert issued.status_code == 403
    assert issued.json()["Success"] is False
    assert "Passcode" not in issued.text
    assert listed.status_code == 403
    assert xkms.uses_left() == []
