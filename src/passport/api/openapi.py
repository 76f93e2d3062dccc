"""The OpenAPI 3.1 document of the envelope API, generated from the registry."""

from __future__ import annotations

from typing import Any

from passport import __version__
from passport.api.registry import ApiMethod, Registry

_TYPES = {str: "string", int: "integer", bool: "boolean"}

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["Success", "LoggedIn", "Data", "ClientExceptions", "ServerExceptions"],
    "properties": {
        "Success": {"type": "boolean"},
        "LoggedIn": {"type": "boolean"},
        "Data": {},
        "ClientExceptions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["Message", "Source", "Value", "Number"],
                "properties": {
                    "Message": {"type": "string"},
                    "Source": {"type": "string"},
                    "Value": {"type": "string"},
                    "Number": {"type": "string"},
                },
            },
        },
        "ServerExceptions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["Message"],
                "properties": {"Message": {"type": "string"}},
            },
        },
    },
}

# The JSONP callback rule in ASCII classes: Python-based tools read `\w` as Unicode letters.
_CALLBACK_PATTERN = r"^[A-Za-z_$][A-Za-z0-9_$]{0,63}(\.[A-Za-z_$][A-Za-z0-9_$]{0,63}){0,3}$"
_ERROR_STATUSES = ("400", "401", "403", "404", "405", "409", "413", "415", "429", "500")


def build_openapi(registry: Registry, server_url: str) -> dict[str, Any]:
    """The document: one path per method, GET with query parameters, POST with a body."""
    paths: dict[str, Any] = {}
    for method in registry:
        paths[f"/{method.route}"] = _operations(method)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Passport",
            "version": __version__,
            "description": "The Passport envelope API. Every answer, errors included, is an "
            "Envelope; see docs/api.md for the ClientExceptions Numbers.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": {"Envelope": ENVELOPE_SCHEMA},
            "responses": {"Envelope": _envelope_response("The envelope")},
        },
    }


def _envelope_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
    }


def _jsonp_response() -> dict[str, Any]:
    response = _envelope_response("Success; or, with `callback`, any answer as a JSONP call")
    response["content"]["application/javascript"] = {"schema": {"type": "string"}}
    return response


def _operations(method: ApiMethod) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _envelope_response("Success")}
    responses.update(
        {code: {"$ref": "#/components/responses/Envelope"} for code in _ERROR_STATUSES}
    )
    properties = {p.name: {"type": _TYPES[p.kind]} for p in method.parameters}
    operations: dict[str, Any] = {}
    base = {"summary": method.spec.summary, "tags": [method.controller], "responses": responses}
    if "GET" in method.spec.http_methods:
        get_responses = responses
        parameters = [
            {"name": p.name, "in": "query", "required": False, "schema": {"type": _TYPES[p.kind]}}
            for p in method.parameters
        ]
        if method.spec.read_only:
            get_responses = {**responses, "200": _jsonp_response()}
            parameters.append(
                {
                    "name": "callback",
                    "in": "query",
                    "required": False,
                    "description": "JSONP: wrap the envelope in a call to this function",
                    "schema": {
                        "type": "string",
                        "pattern": _CALLBACK_PATTERN,
                    },
                }
            )
        operations["get"] = {
            **base,
            "operationId": f"get{method.controller}{method.spec.name}",
            "parameters": parameters,
            "responses": get_responses,
        }
    if "POST" in method.spec.http_methods:
        schema = {"type": "object", "properties": properties}
        operations["post"] = {
            **base,
            "operationId": f"post{method.controller}{method.spec.name}",
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {"schema": schema},
                    "application/x-www-form-urlencoded": {"schema": schema},
                },
            },
        }
    return operations
