"""Admin API for applications: the secret shown once and stored hashed, rotation, origins."""

from __future__ import annotations

import hashlib

import httpx

from passport.storage.tables import application_info, application_origin

from .support import Accounts, Browser, client_error, error_number


async def validate_with(client: httpx.AsyncClient, application_id: int, secret: str) -> int:
    """The HTTP status of a Session/validate call with these Basic credentials."""
    response = await client.post(
        "/Session/validate",
        json={"token": "x"},
        auth=httpx.BasicAuth(str(application_id), secret),
    )
    return response.status_code


async def test_create_application_shows_the_secret_once_and_stores_only_its_sha256(
    admin: Browser, accounts: Accounts
) -> None:
    created = await admin.post(
        "/Admin/createApplication",
        {"name": "Docs", "origins": "https://docs.example, https://DOCS.example:8443/"},
    )

    assert created.status_code == 200, created.text
    data = created.json()["Data"]
    secret = data["Secret"]
    assert len(secret) >= 43
    application = data["Application"]
    assert application["Name"] == "Docs"
    assert application["Origins"] == ["https://docs.example", "https://docs.example:8443"]
    row = next(r for r in accounts.rows(application_info) if r["name"] == "Docs")
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in row.values())
    listed = await admin.get("/Admin/listApplications")
    assert secret not in listed.text
    assert {"ID": application["ID"], "Name": "Docs", "Origins": application["Origins"]} in (
        listed.json()["Data"]["Applications"]
    )
    assert await validate_with(admin.http, application["ID"], secret) == 200
    (event,) = accounts.audit("application.create")
    assert (event["actor"], event["target"], event["success"]) == (
        "user:root",
        "application:Docs",
        True,
    )


async def test_create_application_refuses_a_taken_name_and_bad_origins_writing_nothing(
    admin: Browser, accounts: Accounts
) -> None:
    accounts.application("Docs")
    before = (accounts.count(application_info), accounts.count(application_origin))

    cases = [
        ({"name": "docs"}, 409, "7"),
        ({"name": "Passport"}, 409, "7"),
        ({}, 400, "1"),
        ({"name": "Wiki", "origins": "ftp://wiki.example"}, 400, "3"),
        ({"name": "Wiki", "origins": "https://wiki.example/path"}, 400, "3"),
        ({"name": "Wiki", "origins": "https://ok.example https://user@wiki.example"}, 400, "3"),
    ]
    for body, status, number in cases:
        response = await admin.post("/Admin/createApplication", body)
        assert (response.status_code, error_number(response)) == (status, number), body

    assert (accounts.count(application_info), accounts.count(application_origin)) == before
    assert accounts.audit("application.create") == []


async def test_a_rotated_secret_replaces_the_old_one_at_once(
    admin: Browser, accounts: Accounts
) -> None:
    docs = accounts.application("Docs")
    app_id = docs.application.id
    assert await validate_with(admin.http, app_id, docs.secret) == 200

    rotated = await admin.post("/Admin/rotateSecret", {"name": "Docs"})

    new_secret = rotated.json()["Data"]["Secret"]
    assert new_secret != docs.secret
    assert await validate_with(admin.http, app_id, docs.secret) == 401
    assert await validate_with(admin.http, app_id, new_secret) == 200
    missing = await admin.post("/Admin/rotateSecret", {"name": "Nope"})
    assert (missing.status_code, error_number(missing)) == (404, "2")


async def test_set_origins_replaces_the_origins_cors_and_csrf_trust(
    admin: Browser, accounts: Accounts
) -> None:
    accounts.application("Docs", "https://old.example")

    response = await admin.post(
        "/Admin/setOrigins", {"name": "Docs", "origins": "https://new.example"}
    )

    assert response.json()["Data"]["Application"]["Origins"] == ["https://new.example"]
    new = await admin.get("/Account/whoAmI", Origin="https://new.example")
    old = await admin.get("/Account/whoAmI", Origin="https://old.example")
    assert new.headers["access-control-allow-origin"] == "https://new.example"
    assert "access-control-allow-origin" not in old.headers
    csrf = await admin.post(
        "/Admin/setOrigins", {"name": "Docs", "origins": ""}, Origin="https://old.example"
    )
    assert (csrf.status_code, client_error(csrf)["Number"]) == (403, "14")
    cleared = await admin.post("/Admin/setOrigins", {"name": "Docs", "origins": ""})
    assert cleared.json()["Data"]["Application"]["Origins"] == []
    (event, _) = accounts.audit("application.set_origins")
    assert (event["actor"], event["detail"]) == ("user:root", "https://new.example")
