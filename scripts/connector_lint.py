"""Check custom connector files against the Power Platform's rules, offline.

    python -m scripts.connector_lint [connector-directory ...]

The rules are those the Power Platform's swagger validator applies to a
custom connector (``paconn validate`` needs a login, so cannot run in CI):
operation ids, summaries, path parameters, MIME types, no oneOf/anyOf/not,
2xx responses (a 202 is an asynchronous answer: a Location to poll until the
200 that is the action's output), GET without body, internal parameters,
labels, dropdown references, info and security; and the Power Platform's own
definition schema (``scripts.connector_schema``: closed objects, its formats and
extensions). Each finding is one line naming where it is.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts.connector_schema import schema_findings

MAX_BYTES = 1024 * 1024
MAX_OPERATIONS = 256
MAX_SUMMARY = 120
MIME_TYPES = frozenset(
    {"application/json", "text/plain", "multipart/form-data", "application/x-www-form-urlencoded"}
)
VISIBILITIES = frozenset({"important", "advanced", "internal"})
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
FORBIDDEN_COMBINATORS = ("oneOf", "anyOf", "not")
# JSON Schema keywords that Swagger 2.0 schemas do not have.
NOT_SWAGGER_2 = ("const", "$defs", "nullable", "prefixItems")
RESERVED_COLORS = frozenset({"#007ee5", "#ffffff"})
_OPERATION_ID_RE = re.compile(r"^[A-Za-z0-9]+$")
_SEGMENT_PARAM_RE = re.compile(r"\{([^{}]+)\}")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_CONNECTION_PARAMETER_RE = re.compile(r"^[0-9a-zA-Z_]+$")


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item.get(method), dict):
                yield path, method, item[method]


def _parameters(doc: dict[str, Any], path: str, op: dict[str, Any]) -> list[dict[str, Any]]:
    """The operation's parameters with path-level ones and $refs resolved."""
    shared = (doc.get("paths") or {}).get(path, {}).get("parameters") or []
    found = []
    for raw in [*shared, *(op.get("parameters") or [])]:
        ref = raw.get("$ref") if isinstance(raw, dict) else None
        if isinstance(ref, str) and ref.startswith("#/parameters/"):
            raw = (doc.get("parameters") or {}).get(ref.rsplit("/", 1)[1], {})
        found.append(raw)
    return found


def _walk(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{where}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")


def _unlabelled(schema: Any, where: str) -> Iterator[str]:
    """Schema properties without ``x-ms-summary``, however deep."""
    for place, node in _walk(schema, where):
        properties = node.get("properties") if isinstance(node, dict) else None
        if isinstance(properties, dict) and not place.endswith("/properties"):
            for name, prop in properties.items():
                if isinstance(prop, dict) and "$ref" not in prop and not prop.get("x-ms-summary"):
                    yield f"{place}/properties/{name}: no x-ms-summary"


def lint_definition(doc: dict[str, Any]) -> list[str]:
    """Every rule broken by an ``apiDefinition.swagger.json`` document."""
    problems: list[str] = []
    add = problems.append
    if doc.get("swagger") != "2.0":
        add("swagger: must be 2.0 (the Power Platform takes no OpenAPI 3)")
    if len(json.dumps(doc).encode()) > MAX_BYTES:
        add("document: larger than 1 MB")
    _lint_info(doc, add)
    _lint_mime(doc, "document", add)
    _lint_security(doc, add)
    for where, node in _walk(doc, "#"):
        if isinstance(node, dict):
            for key in FORBIDDEN_COMBINATORS:
                if key in node and not where.endswith("/properties"):
                    add(f"{where}: {key} is not allowed (Swagger 2.0 has only allOf)")
            for key in NOT_SWAGGER_2:
                if key in node and not where.endswith("/properties"):
                    add(f"{where}: {key} is not Swagger 2.0")
    for name, schema in (doc.get("definitions") or {}).items():
        problems += _unlabelled(schema, f"#/definitions/{name}")

    operations = list(_operations(doc))
    if len(operations) > MAX_OPERATIONS:
        add(f"paths: {len(operations)} operations; at most {MAX_OPERATIONS}")
    ids = [op.get("operationId") for _, _, op in operations]
    by_id = {op.get("operationId"): (path, op) for path, _, op in operations}
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        operation_id = op.get("operationId")
        if not isinstance(operation_id, str) or not _OPERATION_ID_RE.match(operation_id):
            add(f"{where}: operationId must be letters and digits only")
        elif ids.count(operation_id) > 1:
            add(f"{where}: operationId {operation_id} is not unique")
        _lint_texts(op, where, add)
        _lint_mime(op, where, add)
        if op.get("x-ms-visibility") not in (None, *VISIBILITIES):
            add(f"{where}: x-ms-visibility must be important, advanced or internal")
        parameters = _parameters(doc, path, op)
        _lint_path_parameters(path, parameters, where, add)
        for parameter in parameters:
            _lint_parameter(parameter, method, where, add, by_id, doc)
        _lint_responses(op, where, add, problems)
    _lint_property_lookups(doc, by_id, add)
    return problems + schema_findings(doc)


def _lint_property_lookups(
    doc: dict[str, Any], by_id: dict[Any, tuple[str, dict[str, Any]]], add: Any
) -> None:
    """The dropdowns on body properties (the update's customer and invoice)."""
    for name, schema in (doc.get("definitions") or {}).items():
        properties = (schema.get("properties") or {}) if isinstance(schema, dict) else {}
        for prop_name, prop in properties.items():
            if isinstance(prop, dict):
                here = f"#/definitions/{name}/properties/{prop_name}"
                _lint_lookups(prop, here, add, by_id, doc, properties)


def _lint_info(doc: dict[str, Any], add: Any) -> None:
    info = doc.get("info") or {}
    title = info.get("title")
    if not isinstance(title, str) or not title or len(title) > 30:
        add("info.title: required, at most 30 characters")
    elif re.search(r"\b(api|connector)\b", title, re.IGNORECASE):
        add('info.title: must not contain "API" or "Connector"')
    description = info.get("description")
    if not isinstance(description, str) or not 30 <= len(description) <= 500:
        add("info.description: required, 30 to 500 characters")
    if not info.get("version"):
        add("info.version: required")
    if not doc.get("host"):
        add("host: required")
    if doc.get("basePath") != "/api":
        add("basePath: must be /api (the Functions route prefix)")
    if doc.get("schemes") != ["https"]:
        add('schemes: must be ["https"]')


def _lint_mime(node: dict[str, Any], where: str, add: Any) -> None:
    for key in ("consumes", "produces"):
        for media in node.get(key) or []:
            if media not in MIME_TYPES:
                add(f"{where}: {key} {media} is not allowed in a connector")


def _lint_texts(op: dict[str, Any], where: str, add: Any) -> None:
    summary, description = op.get("summary"), op.get("description")
    if not isinstance(summary, str) or not summary.strip():
        add(f"{where}: summary is required")
    elif len(summary) >= MAX_SUMMARY:
        add(f"{where}: summary must be under {MAX_SUMMARY} characters")
    if not isinstance(description, str) or not description.strip():
        add(f"{where}: description is required")
    elif description.strip() == (summary or "").strip():
        add(f"{where}: description must differ from the summary")


def _lint_path_parameters(
    path: str, parameters: list[dict[str, Any]], where: str, add: Any
) -> None:
    in_path = {p.get("name"): p for p in parameters if p.get("in") == "path"}
    named: list[str] = []
    for segment in path.strip("/").split("/"):
        inside = _SEGMENT_PARAM_RE.findall(segment)
        if len(inside) > 1 or (inside and segment != "{" + inside[0] + "}"):
            add(f"{where}: segment {segment} must be one whole {{parameter}}")
        named += inside
    for name in named:
        parameter = in_path.get(name)
        if parameter is None:
            add(f"{where}: path parameter {name} is not declared")
            continue
        if parameter.get("required") is not True:
            add(f"{where}: path parameter {name} must be required")
        if parameter.get("x-ms-url-encoding") != "single":
            add(f"{where}: path parameter {name} needs x-ms-url-encoding: single")
    for declared in in_path:
        if declared not in named:
            add(f"{where}: path parameter {declared} is not in the path")


def _lint_parameter(
    parameter: dict[str, Any],
    method: str,
    where: str,
    add: Any,
    by_id: dict[Any, tuple[str, dict[str, Any]]],
    doc: dict[str, Any],
) -> None:
    name = parameter.get("name")
    here = f"{where}: parameter {name}"
    location = parameter.get("in")
    if location in ("body", "formData") and method in ("get", "head", "delete"):
        add(f"{here}: a {method.upper()} has no body")
    if not parameter.get("x-ms-summary"):
        add(f"{here}: no x-ms-summary")
    visibility = parameter.get("x-ms-visibility")
    if visibility not in (None, *VISIBILITIES):
        add(f"{here}: x-ms-visibility must be important, advanced or internal")
    if visibility == "internal" and (
        parameter.get("required") is not True or "default" not in parameter
    ):
        add(f"{here}: an internal parameter must be required and have a default")
    if location == "query" and str(name).lower() in ("code", "x-functions-key"):
        add(f"{here}: the function key never goes in a query parameter")
    if "default" in parameter and str(name).lower() in ("x-functions-key", "authorization"):
        add(f"{here}: a credential never has a default")
    if location == "body":
        problems = list(_unlabelled(parameter.get("schema"), here))
        for problem in problems:
            add(problem)
    _lint_lookups(parameter, here, add, by_id, doc)


def _lint_lookups(
    node: dict[str, Any],
    here: str,
    add: Any,
    by_id: dict[Any, tuple[str, dict[str, Any]]],
    doc: dict[str, Any],
    body: dict[str, Any] | None = None,
) -> None:
    """A dropdown names an operation of this connector and passes only parameters
    it takes; on a body property (``body`` its siblings), it refers only to
    properties of the same body."""
    for key in ("x-ms-dynamic-values", "x-ms-dynamic-list"):
        lookup = node.get(key)
        if lookup is None:
            continue
        target = by_id.get(lookup.get("operationId"))
        if target is None:
            add(f"{here}: {key} names no operation of this connector")
            continue
        target_names = {p.get("name") for p in _parameters(doc, target[0], target[1])}
        for passed, source in (lookup.get("parameters") or {}).items():
            if passed not in target_names:
                add(f"{here}: {key} passes {passed}, which its operation does not take")
            reference = source.get("parameterReference") if isinstance(source, dict) else None
            if (
                body is not None
                and isinstance(reference, str)
                and reference.startswith("body/")
                and reference.removeprefix("body/") not in body
            ):
                add(f"{here}: {key} refers to {reference}, which the body lacks")


def _lint_responses(op: dict[str, Any], where: str, add: Any, problems: list[str]) -> None:
    responses = op.get("responses") or {}
    codes = [str(code) for code in responses]
    if not any(code.startswith("2") and len(code) == 3 for code in codes):
        add(f"{where}: needs a 2xx response")
    for code, response in responses.items():
        code = str(code)
        has_schema = isinstance(response, dict) and "schema" in response
        headers = (response.get("headers") or {}) if isinstance(response, dict) else {}
        polled = any(str(name).lower() == "location" for name in headers)
        if code == "default" and has_schema:
            add(f"{where}: the default response carries no schema")
        elif code == "202" and not polled:
            # The designer runs a 202 as an asynchronous action: it polls Location.
            add(f"{where}: response 202 needs a Location header to poll")
        elif code == "202" and has_schema:
            # The designer polls a 202 and outputs the final answer, never the 202's body.
            add(f"{where}: response 202 carries no schema; outputs belong on the final 200")
        elif code == "202" and "200" not in codes:
            add(f"{where}: response 202 but no 200 ends the polling")
        elif code.startswith("2") and code not in ("200", "201", "202") and has_schema:
            add(f"{where}: response {code} has a schema; outputs belong on 200 or 201")
        if has_schema:
            problems += _unlabelled(response["schema"], f"{where}: response {code}")
        for header, spec in (response.get("headers") or {}).items():
            if not spec.get("x-ms-summary"):
                add(f"{where}: response {code} header {header}: no x-ms-summary")
    if "200" not in codes and "201" not in codes:
        add(f"{where}: the output schema belongs on a 200 or 201 response")


def _lint_security(doc: dict[str, Any], add: Any) -> None:
    definitions = doc.get("securityDefinitions") or {}
    security = doc.get("security") or []
    if not definitions or not security:
        add("security: the connector must declare how it authenticates")
    for requirement in security:
        for name in requirement:
            if name not in definitions:
                add(f"security: {name} is not in securityDefinitions")
    for name, scheme in definitions.items():
        kind = scheme.get("type")
        if kind == "apiKey":
            if (scheme.get("in"), scheme.get("name")) != ("header", "x-functions-key"):
                add(f"securityDefinitions.{name}: the key goes in the x-functions-key header")
        elif kind == "oauth2":
            if scheme.get("flow") != "accessCode":
                add(f"securityDefinitions.{name}: connectors take the oauth2 accessCode flow")
        else:
            add(f"securityDefinitions.{name}: type {kind} is not used by this connector")


def lint_properties(props: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    """Every rule broken by an ``apiProperties.json``, given its definition."""
    problems: list[str] = []
    add = problems.append
    body = props.get("properties")
    if not isinstance(body, dict):
        return ["properties: required"]
    color = body.get("iconBrandColor")
    if not isinstance(color, str) or not _COLOR_RE.match(color):
        add("iconBrandColor: must be a #rrggbb colour")
    elif color.lower() in RESERVED_COLORS:
        add(f"iconBrandColor: {color} is reserved")
    parameters = body.get("connectionParameters") or {}
    for name in parameters:
        if not _CONNECTION_PARAMETER_RE.match(name):
            add(f"connectionParameters.{name}: letters, digits and _ only")
    kinds = {scheme.get("type") for scheme in (doc.get("securityDefinitions") or {}).values()}
    if "apiKey" in kinds:
        key = parameters.get("api_key") or {}
        if key.get("type") != "securestring":
            add("connectionParameters.api_key: the function key must be a securestring")
        if "defaultValue" in key:
            add("connectionParameters.api_key: a key never has a default value")
    if "oauth2" in kinds:
        settings = (parameters.get("token") or {}).get("oAuthSettings") or {}
        if (parameters.get("token") or {}).get("type") != "oauthSetting":
            add("connectionParameters.token: must be an oauthSetting")
        if settings.get("identityProvider") != "aad":
            add("connectionParameters.token: identityProvider must be aad")
        custom = settings.get("customParameters") or {}
        for needed in ("resourceUri", "loginUri", "tenantId"):
            if needed not in custom:
                add(f"connectionParameters.token: customParameters.{needed} is required")
        if not settings.get("clientId"):
            add("connectionParameters.token: clientId is required")
    for instance in body.get("policyTemplateInstances") or []:
        template = str(instance.get("templateId", "")).lower()
        if template == "dynamichosturl":
            url = (instance.get("parameters") or {}).get(
                "x-ms-apimTemplateParameter.urlTemplate", ""
            )
            for used in re.findall(r"@connectionParameters\('([^']+)'\)", url):
                if used not in parameters:
                    add(f"policyTemplateInstances: {used} is not a connection parameter")
    return problems


def lint_directory(directory: Path) -> list[str]:
    doc = json.loads((directory / "apiDefinition.swagger.json").read_text())
    props = json.loads((directory / "apiProperties.json").read_text())
    return [*lint_definition(doc), *lint_properties(props, doc)]


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[1] / "connector"
    directories = [Path(a) for a in (argv or sys.argv[1:])] or [root, root / "entra"]
    failed = False
    for directory in directories:
        for problem in lint_directory(directory):
            failed = True
            print(f"{directory}: {problem}")  # noqa: T201 - this command's output
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
