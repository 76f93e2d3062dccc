"""The compatibility contract of `Service/getApplication`, on every backend."""

from __future__ import annotations

import httpx


async def test_get_application_answers_the_original_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/Service/getApplication", params={"name": "Passport"})
    assert response.status_code == 200
    assert response.json() == {
        "Success": True,
        "LoggedIn": False,
        "Data": {"Message": "Application ID for 'Passport' is: 1", "Application": {"ID": 1}},
        "ClientExceptions": [],
        "ServerExceptions": [],
    }


async def test_get_application_without_name_is_client_exception_1(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/Service/getApplication")
    assert response.status_code == 400
    body = response.json()
    assert body["Success"] is False
    assert body["ClientExceptions"] == [
        {
            "Message": "Application name must be specified.",
            "Source": "name",
            "Value": "",
            "Number": "1",
        }
    ]


async def test_unknown_application_is_client_exception_2_with_404(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/Service/getApplication", params={"name": "Nope"})
    assert response.status_code == 404
    (error,) = response.json()["ClientExceptions"]
    assert error["Number"] == "2"
    assert error["Message"] == "Could not find application 'Nope'."
