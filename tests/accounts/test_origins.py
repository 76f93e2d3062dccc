"""CSRF (Origin/Referer on cookie POSTs), CORS for registered origins, JSONP without sessions."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from .support import PASSWORD, Accounts, Browser, client_error

DOCS_ORIGIN = "https://docs.example"
WIKI_ORIGIN = "https://wiki.example:8443"
EVIL_ORIGIN = "https://evil.example"


@pytest.fixture
def alice_browser(client: httpx.AsyncClient, accounts: Accounts) -> Browser:
    """Alice, logged in; Docs registered with its origin."""
    accounts.application("Docs", DOCS_ORIGIN)
    accounts.application("Wiki", WIKI_ORIGIN)
    return Browser(client, token=accounts.session(accounts.user("alice", password=None)))


REFUSED = {
    "foreign Origin": {"Origin": EVIL_ORIGIN},
    "opaque Origin": {"Origin": "null"},
    "Passport over http": {"Origin": "http://passport.test"},
    "look-alike Origin": {"Origin": "https://passport.test.evil.example"},
    "foreign Referer": {"Origin": "", "Referer": f"{EVIL_ORIGIN}/page"},
    "neither Origin nor Referer": {"Origin": "", "Referer": ""},
    "Origin wins over Referer": {"Origin": EVIL_ORIGIN, "Referer": "https://passport.test/"},
}
ACCEPTED = {
    "Passport's Origin": {"Origin": "https://passport.test"},
    "Passport's Referer": {"Origin": "", "Referer": "https://passport.test/login"},
    "registered Origin": {"Origin": DOCS_ORIGIN},
    "registered Origin with a port": {"Origin": WIKI_ORIGIN},
}


async def test_a_cookie_post_from_an_unknown_origin_is_refused_with_number_14(
    alice_browser: Browser,
) -> None:
    for label, headers in REFUSED.items():
        for path in ("/Account/logout", "/Account/changePassword", "/Account/login"):
            response = await alice_browser.post(path, **headers)
            assert response.status_code == 403, (label, path)
            error = client_error(response)
            assert (error["Number"], error["Source"]) == ("14", "Origin"), (label, path)
            assert alice_browser.token is not None
        assert await alice_browser.logged_in(), f"{label}: the session must live on"


async def test_a_cookie_post_from_passport_or_a_registered_origin_is_accepted(
    alice_browser: Browser, accounts: Accounts
) -> None:
    alice = accounts.services.users.get("alice")
    for label, headers in ACCEPTED.items():
        alice_browser.token = accounts.session(alice)
        response = await alice_browser.post("/Account/logout", **headers)
        assert response.status_code == 200, label
        assert response.json()["Data"] == {"LoggedOut": True}, label


async def test_a_post_without_the_cookie_needs_no_origin(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    accounts.user("alice")
    browser = Browser(client)
    browser.origin = ""

    response = await browser.login("alice", PASSWORD)

    assert response.status_code == 200
    assert browser.token is not None


async def test_a_login_from_a_foreign_page_is_refused_even_without_a_cookie(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    accounts.user("mallory")
    for origin in (EVIL_ORIGIN, "null"):
        browser = Browser(client, origin=origin)

        response = await browser.login("mallory", PASSWORD)

        assert response.status_code == 403, origin
        assert (client_error(response)["Number"], client_error(response)["Source"]) == (
            "14",
            "Origin",
        )
        assert browser.token is None, origin
        assert "set-cookie" not in response.headers
    assert [e for e in accounts.services.audit.events() if e.action == "account.login"] == []


async def test_cors_with_credentials_is_offered_to_registered_origins_only(
    alice_browser: Browser,
) -> None:
    registered = await alice_browser.get("/Account/whoAmI", Origin=DOCS_ORIGIN)
    assert registered.status_code == 200
    assert registered.headers["access-control-allow-origin"] == DOCS_ORIGIN
    assert registered.headers["access-control-allow-credentials"] == "true"
    assert "origin" in registered.headers["vary"].lower()

    for origin in (EVIL_ORIGIN, "https://passport.test"):
        other = await alice_browser.get("/Account/whoAmI", Origin=origin)
        assert "access-control-allow-origin" not in other.headers, origin
        assert "access-control-allow-credentials" not in other.headers, origin

    referer_only = await alice_browser.get(
        "/Account/whoAmI", Origin="", Referer=f"{DOCS_ORIGIN}/page"
    )
    assert "access-control-allow-origin" not in referer_only.headers


async def test_preflight_answers_registered_origins_and_refuses_the_rest(
    alice_browser: Browser,
) -> None:
    preflight = {"Access_Control_Request_Method": "POST"}

    allowed = await alice_browser.request(
        "OPTIONS", "/Account/logout", Origin=DOCS_ORIGIN, **preflight
    )
    refused = await alice_browser.request(
        "OPTIONS", "/Account/logout", Origin=EVIL_ORIGIN, **preflight
    )

    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == DOCS_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert refused.status_code == 403
    assert client_error(refused)["Number"] == "14"
    assert "access-control-allow-origin" not in refused.headers


def jsonp_envelope(response: httpx.Response, callback: str) -> dict[str, object]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    match = re.fullmatch(rf"/\*\*/{re.escape(callback)}\((.*)\);", response.text, re.DOTALL)
    assert match is not None, response.text
    envelope: dict[str, object] = json.loads(match.group(1))
    return envelope


async def test_jsonp_never_carries_the_session_unless_the_application_enabled_it(
    alice_browser: Browser, accounts: Accounts
) -> None:
    async def who_am_i(**headers: str) -> dict[str, object]:
        response = await alice_browser.get("/Account/whoAmI", {"callback": "f"}, **headers)
        return jsonp_envelope(response, "f")

    for headers in (
        {"Origin": ""},
        {"Origin": "", "Referer": "https://passport.test/"},
        {"Origin": "", "Referer": f"{EVIL_ORIGIN}/"},
        {"Origin": "", "Referer": f"{DOCS_ORIGIN}/page"},
    ):
        envelope = await who_am_i(**headers)
        assert envelope["LoggedIn"] is False, headers
        assert envelope["Data"] is None, headers
        (error,) = envelope["ClientExceptions"]  # type: ignore[misc]
        assert error["Number"] == "8", headers

    accounts.services.applications.set_jsonp_sessions("Docs", True)
    enabled = await who_am_i(Origin="", Referer=f"{DOCS_ORIGIN}/page")
    assert enabled["LoggedIn"] is True
    assert enabled["Data"]["User"]["Name"] == "alice"  # type: ignore[index]
    other = await who_am_i(Origin="", Referer=f"{WIKI_ORIGIN}/page")
    assert other["LoggedIn"] is False
