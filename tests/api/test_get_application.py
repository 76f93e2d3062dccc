"""The compatibility contract of `Service/getApplication`, on every backend."""

from __future__ import annotations

import json

import httpx
import pytest

from envelope_shape import client_exception
from passport.identity.applications import ApplicationService


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


async def test_get_application_answers_the_documented_text_byte_for_byte(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/Service/getApplication", params={"name": "Passport"})

    assert response.text == (
        '{"Success": true, "LoggedIn": false, "Data": {"Message": "Application ID for '
        '\'Passport\' is: 1", "Application": {"ID": 1}}, "ClientExceptions": [], '
        '"ServerExceptions": []}'
    )


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


async def test_get_application_finds_an_added_application_by_its_id(
    client: httpx.AsyncClient, applications: ApplicationService
) -> None:
    added = applications.add("Wiki").application
    response = await client.get("/Service/getApplication", params={"name": "Wiki"})
    assert response.status_code == 200
    assert response.json()["Data"] == {
        "Message": f"Application ID for 'Wiki' is: {added.id}",
        "Application": {"ID": added.id},
    }


async def test_application_names_are_exact_not_case_insensitive(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/Service/getApplication", params={"name": "passport"})
    assert response.status_code == 404
    assert client_exception(response.json())["Number"] == "2"


async def test_spaces_around_the_name_are_ignored(client: httpx.AsyncClient) -> None:
    response = await client.get("/Service/getApplication", params={"name": "  Passport "})
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}


async def test_post_form_argument_answers_like_get(client: httpx.AsyncClient) -> None:
    response = await client.post("/Service/getApplication", data={"name": "Passport"})
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}


async def test_post_json_argument_answers_like_get(client: httpx.AsyncClient) -> None:
    response = await client.post("/Service/getApplication", json={"Name": "Passport"})
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}


@pytest.mark.parametrize("name", ["", "   "])
async def test_empty_name_is_client_exception_1(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get("/Service/getApplication", params={"name": name})
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "1"
    assert error["Source"] == "name"
    assert error["Message"] == "Application name must be specified."


async def test_overlong_name_is_client_exception_3(client: httpx.AsyncClient) -> None:
    response = await client.get("/Service/getApplication", params={"name": "a" * 256})
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "3"
    assert error["Source"] == "name"
    assert "255" in error["Message"]


async def test_name_of_255_characters_is_looked_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/Service/getApplication", params={"name": "a" * 255})
    assert response.status_code == 404
    assert client_exception(response.json())["Number"] == "2"


async def test_unknown_application_under_jsonp_is_200_with_the_error_inside(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/Service/getApplication", params={"name": "Nope", "callback": "done"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.text.startswith("/**/done(")
    assert response.text.endswith(");")
    body = json.loads(response.text.removeprefix("/**/done(").removesuffix(");"))
    assert client_exception(body)["Number"] == "2"
