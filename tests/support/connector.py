"""The generated connector as the Power Automate designer uses it: a request built
from the Swagger for an action's inputs, and its answer checked against the schema
and headers the action declares for its status."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # via openapi-spec-validator

from scripts import connector
from shared.api.openapi import nullable_as_type
from shared.process.jsonio import dumps_exact, loads_exact
from tests.support.proxy import Proxy

DOC = connector.swagger()


def connector_operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if op["operationId"] == operation_id:
                return method.upper(), path, op
    raise AssertionError(operation_id)


def call(
    proxy: Proxy,
    operation_id: str,
    values: dict[str, Any],
    body: Any = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """What the connector sends for these inputs: internal parameters take
    their defaults, the rest only when given."""
    method, path, op = connector_operation(operation_id)
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for parameter in op["parameters"]:
        name, where = parameter["name"], parameter["in"]
        value = values.get(name, parameter.get("default") if parameter.get("required") else None)
        if where == "body" or value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if where == "path":
            path = path.replace("{" + name + "}", text)
        elif where == "query":
            query[name] = text
        else:
            headers[name] = text
    if body is not None:
        headers["Content-Type"] = "application/json"
    sent = client or proxy.http
    return sent.request(
        method,
        proxy.url + path,
        params=query,
        headers=headers,
        content=dumps_exact(body) if body is not None else None,
    )


def check(operation_id: str, response: httpx.Response) -> dict[str, Any]:
    """The answer as the connector describes it for its status: declared
    headers present, the body valid against the declared schema. A 202
    declares no schema: the designer reads its headers only."""
    _, _, op = connector_operation(operation_id)
    declared = op["responses"].get(str(response.status_code))
    assert declared is not None, (response.status_code, response.text)
    for header in declared.get("headers", {}):
        assert header in response.headers, header
    if response.status_code == 202:
        assert "schema" not in declared
        return {}
    body: dict[str, Any] = loads_exact(response.content)
    # x-nullable (a Swagger extension) read as JSON Schema: a null type.
    schema = copy.deepcopy({**declared["schema"], "definitions": DOC["definitions"]})
    nullable_as_type(schema)
    errors = [e.message for e in Draft4Validator(schema).iter_errors(body)]
    assert errors == [], errors
    return body
