"""Passport's own origin comes from PASSPORT_PUBLIC_URL, written in any equivalent way."""

from __future__ import annotations

import httpx
import pytest

from envelope_shape import client_exception
from passport.app import create_app
from passport.config import Settings
from passport.services import Services

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.mark.parametrize(
    "public_url", ["https://passport.test", "https://passport.test:443", "https://PASSPORT.test/"]
)
async def test_post_with_a_cookie_from_passports_own_origin_is_not_cross_site(
    settings: Settings, services: Services, public_url: str
) -> None:
    own = Settings(home=settings.home, database_url=settings.database_url, public_url=public_url)
    app = create_app(own, services)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as client:
        response = await client.post(
            "/Account/logout",
            headers={"origin": "https://passport.test", "cookie": "__Host-passport=stale"},
        )
    assert response.status_code == 200
    assert response.json()["Data"] == {"LoggedOut": False}


async def test_post_with_a_cookie_from_another_origin_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/Account/logout",
        headers={"origin": "https://evil.example", "cookie": "__Host-passport=stale"},
    )
    assert response.status_code == 403
    assert client_exception(response.json())["Number"] == "14"
