"""Arguments from the query string and form or JSON bodies; bad input gets a specific error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from envelope_shape import client_exception

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

URL = "/Service/getApplication"
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
LIMIT = 64 * 1024


async def post_json(client: httpx.AsyncClient, text: str) -> httpx.Response:
    return await client.post(URL, content=text.encode("utf-8"), headers=JSON)


async def test_post_takes_arguments_from_the_query_string_too(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, params={"name": "Passport"})
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}


async def test_get_ignores_a_body(client: httpx.AsyncClient) -> None:
    response = await client.request(
        "GET", URL, params={"name": "Passport"}, content=b'{"name": "Nope"}', headers=JSON
    )
    assert response.status_code == 200
    assert response.json()["Data"]["Application"] == {"ID": 1}


async def test_unknown_arguments_are_ignored(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"name": "Passport", "extra": "1"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "shown"),
    [("5", "5"), ('["Passport"]', "['Passport']"), ('{"a": 1}', "{'a': 1}"), ("true", "True")],
)
async def test_json_value_of_the_wrong_type_is_number_3(
    client: httpx.AsyncClient, value: str, shown: str
) -> None:
    response = await post_json(client, f'{{"name": {value}}}')
    assert response.status_code == 400
    assert client_exception(response.json()) == {
        "Message": "Parameter 'name' must be a string.",
        "Source": "name",
        "Value": shown,
        "Number": "3",
    }


async def test_json_null_counts_as_not_given(client: httpx.AsyncClient) -> None:
    response = await post_json(client, '{"name": null}')
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "1"


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("name=Passport&name=Passport", "name"),
        ("name=Passport&NAME=Passport", "NAME"),
        ("Name=a&nAmE=b", "nAmE"),
        ("callback=a&Callback=b", "Callback"),
    ],
)
async def test_duplicated_query_parameter_is_refused_with_number_4(
    client: httpx.AsyncClient, query: str, source: str
) -> None:
    response = await client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert client_exception(response.json()) == {
        "Message": f"Parameter '{source}' was given more than once.",
        "Source": source,
        "Value": "",
        "Number": "4",
    }


async def test_duplicated_form_field_is_refused_with_number_4(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"name=Passport&Name=Passport", headers=FORM)
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "4"


async def test_json_keys_differing_only_in_case_are_refused_with_number_4(
    client: httpx.AsyncClient,
) -> None:
    response = await post_json(client, '{"name": "Passport", "NAME": "Passport"}')
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "4"
    assert error["Source"] == "NAME"


async def test_same_argument_in_query_and_body_is_refused_with_number_4(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(URL, params={"name": "Passport"}, data={"Name": "Passport"})
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "4"


@pytest.mark.parametrize(
    "body", ["{", '{"name": "Passport",}', "{'name': 'Passport'}", "nul", '{"name": "a"} x']
)
async def test_malformed_json_body_is_number_400(client: httpx.AsyncClient, body: str) -> None:
    response = await post_json(client, body)
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "400"
    assert error["Source"] == "body"
    assert error["Message"].startswith("The JSON body is malformed")


@pytest.mark.parametrize("body", ["[]", '"Passport"', "5", "null", '[{"name": "Passport"}]'])
async def test_json_body_that_is_not_an_object_is_number_400(
    client: httpx.AsyncClient, body: str
) -> None:
    response = await post_json(client, body)
    assert response.status_code == 400
    assert client_exception(response.json()) == {
        "Message": "The JSON body must be an object of named arguments.",
        "Source": "body",
        "Value": "",
        "Number": "400",
    }


async def test_deeply_nested_json_is_number_400_not_a_crash(client: httpx.AsyncClient) -> None:
    response = await post_json(client, '{"name": ' + "[" * 20_000 + "]" * 20_000 + "}")
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "400"
    assert error["Message"] == "The JSON body is malformed: nested too deeply."


async def test_json_body_that_is_not_utf8_is_number_400(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b'{"name": "\xff"}', headers=JSON)
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "400"


async def test_form_body_that_is_not_utf8_is_number_400(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"name=%ff", headers=FORM)
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "400"
    assert error["Source"] == "body"


async def test_query_string_that_is_not_utf8_is_number_400(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{URL}?name=%ff")
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "400"
    assert error["Source"] == "url"


async def test_more_than_100_parameters_is_number_400(client: httpx.AsyncClient) -> None:
    query = "&".join(f"p{index}=x" for index in range(101))
    response = await client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "400"


async def test_body_over_64_kib_with_content_length_is_413(client: httpx.AsyncClient) -> None:
    body = json.dumps({"name": "Passport", "pad": "x" * LIMIT}).encode()
    response = await client.post(URL, content=body, headers=JSON)
    assert response.request.headers["content-length"] == str(len(body))
    assert response.status_code == 413
    error = client_exception(response.json())
    assert error["Number"] == "413"
    assert error["Source"] == "body"


async def test_body_over_64_kib_sent_chunked_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "Passport", "pad": "'
        for _ in range(17):
            yield b"x" * 4096
        yield b'"}'

    response = await client.post(URL, content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert client_exception(response.json())["Number"] == "413"


async def test_body_of_exactly_64_kib_is_read(client: httpx.AsyncClient) -> None:
    head = b'{"name": "Passport", "pad": "'
    body = head + b"x" * (LIMIT - len(head) - 2) + b'"}'
    assert len(body) == LIMIT
    response = await client.post(URL, content=body, headers=JSON)
    assert response.status_code == 200


async def test_a_lying_small_content_length_does_not_lift_the_limit(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 4096

    response = await client.post(URL, content=chunks(), headers={**JSON, "content-length": "10"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x", ""]
)
async def test_wrong_content_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        URL, content=b"name=Passport", headers={"content-type": content_type}
    )
    assert response.status_code == 415
    error = client_exception(response.json())
    assert error["Number"] == "415"
    assert error["Source"] == "Content-Type"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/json; charset=utf-16",
        'application/json; charset="iso-8859-1"',
    ],
)
async def test_wrong_charset_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        URL, content=b"name=Passport", headers={"content-type": content_type}
    )
    assert response.status_code == 415
    error = client_exception(response.json())
    assert error["Number"] == "415"
    assert "UTF-8" in error["Message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "Application/JSON; Charset=UTF-8",
        'application/json;charset="utf-8"',
    ],
)
async def test_utf8_charset_in_any_spelling_is_read(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        URL, content=b'{"name": "Passport"}', headers={"content-type": content_type}
    )
    assert response.status_code == 200


async def test_empty_post_body_without_content_type_reads_no_arguments(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(URL)
    assert response.status_code == 400
    assert client_exception(response.json())["Number"] == "1"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a\x00b", "NUL"),
        ("a\x07b", "a control character"),
        ("a\x1bb", "escape"),
        ("a\u0085b", "a C1 control character"),
        ("a\ue000b", "a private-use character"),
        ("a\U0010fffeb", "a noncharacter"),
        ("a\u0378b", "an unassigned code point"),
    ],
)
async def test_name_with_characters_not_allowed_is_number_3(
    client: httpx.AsyncClient, name: str, why: str
) -> None:
    response = await client.get(URL, params={"name": name})
    assert response.status_code == 400, why
    error = client_exception(response.json())
    assert error["Number"] == "3"
    assert error["Source"] == "name"
    assert error["Message"] == "Application name contains characters that are not allowed."


async def test_lone_surrogate_in_json_is_number_3(client: httpx.AsyncClient) -> None:
    response = await post_json(client, '{"name": "a\\ud800b"}')
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "3"
    assert error["Value"] == "a\\ud800b"


async def test_surrogate_pair_in_json_is_an_ordinary_character(
    client: httpx.AsyncClient,
) -> None:
    response = await post_json(client, '{"name": "\\ud83d\\ude00"}')
    assert response.status_code == 404
    assert client_exception(response.json())["Value"] == "\U0001f600"


async def test_bidi_override_is_allowed_in_a_name_and_looked_up_exactly(
    client: httpx.AsyncClient,
) -> None:
    # Decision: format characters such as U+202E are text, not refused; names are compared
    # exactly and every answer is JSON, so an override cannot break out of its string.
    response = await client.get(URL, params={"name": "\u202etropssaP"})
    assert response.status_code == 404
    error = client_exception(response.json())
    assert error["Number"] == "2"
    assert error["Value"] == "\u202etropssaP"


async def test_value_of_an_overlong_argument_is_cut_in_the_answer(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(URL, params={"name": "a" * 10_000})
    assert response.status_code == 400
    error = client_exception(response.json())
    assert error["Number"] == "3"
    assert error["Value"] == "a" * 200 + "…"
