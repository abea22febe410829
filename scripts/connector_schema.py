"""The Power Platform's definition schema for ``apiDefinition.swagger.json``, the part
that decides whether an import is accepted, as a JSON Schema (draft 4) checked offline.

Source: the facts of ``schemas/apiDefinition.swagger.schema.json`` in
microsoft/PowerPlatformConnectors (MIT licence, commit 8bff86e), which the Power
Platform applies on import: Swagger 2.0 objects are closed (a property Swagger 2.0 does
not name is refused), an ``x-ms-`` extension is accepted only where the Power Platform
lists it, any other ``x-`` extension anywhere, and ``format`` takes only the listed
values (there is no ``decimal``). Written out here, smaller than the original and
without its editor hints, so that ``make test`` needs neither network nor a copy of
that repository.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # via openapi-spec-validator
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

# Swagger 2.0's formats plus the Power Platform's own (date-no-tz, html).
FORMATS = (
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "date",
    "date-time",
    "password",
    "date-no-tz",
    "email",
    "html",
    "uri",
    "uuid",
)
PRIMITIVE_TYPES = ("string", "number", "integer", "boolean", "array")
VISIBILITY = {"type": "string", "enum": ["important", "advanced", "internal"]}
SUMMARY = {"type": "string"}
_ANY_X = "^x-(?!ms-)"  # an extension outside the x-ms- family is free everywhere
_SCHEMA_REF = {"$ref": "#/definitions/schema"}
_TYPE = {"enum": ["array", "boolean", "integer", "null", "number", "object", "string"]}


def _closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "patternProperties": {_ANY_X: {}},
        "additionalProperties": False,
    }
    if required:
        out["required"] = list(required)
    return out


def _any(*names: str) -> dict[str, Any]:
    return {name: {} for name in names}


# Validation keywords a non-body parameter, a header and an array's items share.
_PRIMITIVE = {
    "type": {"type": "string", "enum": list(PRIMITIVE_TYPES)},
    "format": {"type": "string", "enum": list(FORMATS)},
    "items": {"$ref": "#/definitions/items"},
    **_any("collectionFormat", "default", "maximum", "exclusiveMaximum", "minimum"),
    **_any("exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems"),
    **_any("uniqueItems", "enum", "multipleOf"),
}
_DYNAMIC_VALUES = {
    "type": "object",
    "required": ["operationId"],
    "properties": {
        "operationId": {"type": "string"},
        "parameters": {"type": "object"},
        "value-collection": {"type": "string"},
        "value-path": {"type": "string"},
        "value-title": {"type": "string"},
    },
}
_DYNAMIC_LIST = {
    "type": "object",
    "required": ["operationId"],
    "properties": {
        "operationId": {"type": "string"},
        "parameters": {
            "type": "object",
            "additionalProperties": _closed(
                {"value": {}, "parameterReference": {"type": "string"}}
            ),
        },
        "itemsPath": {"type": "string"},
        "itemValuePath": {"type": "string"},
        "itemTitlePath": {"type": "string"},
    },
}
_PARAMETER_EXTRAS = {
    "description": {"type": "string"},
    "name": {"type": "string"},
    "x-ms-summary": SUMMARY,
    "x-ms-visibility": VISIBILITY,
    "x-ms-dynamic-values": _DYNAMIC_VALUES,
    "x-ms-dynamic-list": _DYNAMIC_LIST,
    **_any("x-ms-test-value", "x-ms-enum-values", "x-ms-localizeDefaultValue"),
}


def _non_body(location: str, required: dict[str, Any]) -> dict[str, Any]:
    extras = {"x-ms-url-encoding": {"enum": ["single", "double"]}} if location == "path" else {}
    return _closed(
        {
            **_PRIMITIVE,
            **_PARAMETER_EXTRAS,
            **extras,
            "in": {"enum": [location]},
            "required": required,
            "allowEmptyValue": {"type": "boolean"},
        },
        ("name", "in", "type") + (("required",) if location == "path" else ()),
    )


DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    **_closed(
        {
            "swagger": {"enum": ["2.0"]},
            "info": {"$ref": "#/definitions/info"},
            "host": {"type": "string", "pattern": r"^[^{}/ :\\]+(?::\d+)?$"},
            "basePath": {"type": "string", "pattern": "^/"},
            "schemes": {"type": "array", "items": {"enum": ["http", "https", "ws", "wss"]}},
            "consumes": {"type": "array", "items": {"type": "string"}},
            "produces": {"type": "array", "items": {"type": "string"}},
            "paths": {
                "type": "object",
                "patternProperties": {"^/": {"$ref": "#/definitions/pathItem"}, _ANY_X: {}},
                "additionalProperties": False,
            },
            "definitions": {"type": "object", "additionalProperties": _SCHEMA_REF},
            "parameters": {
                "type": "object",
                "additionalProperties": {"$ref": "#/definitions/parameter"},
            },
            "responses": {
                "type": "object",
                "additionalProperties": {"$ref": "#/definitions/response"},
            },
            "securityDefinitions": {
                "type": "object",
                "additionalProperties": {"$ref": "#/definitions/security"},
            },
            "security": {"type": "array", "items": {"type": "object"}},
            **_any("tags", "externalDocs", "x-ms-capabilities", "x-ms-connector-metadata"),
            "x-ms-docs": {},
        },
        ("swagger", "info", "paths"),
    ),
    "definitions": {
        "info": _closed(
            {
                "title": {"type": "string"},
                "version": {"type": "string"},
                "description": {"type": "string"},
                **_any("termsOfService", "contact", "license", "x-ms-deployment-version"),
                "x-ms-api-annotation": {},
            },
            ("title", "version"),
        ),
        "pathItem": _closed(
            {
                **{
                    method: {"$ref": "#/definitions/operation"}
                    for method in ("get", "put", "post", "delete", "options", "head", "patch")
                },
                "parameters": {"type": "array", "items": {"$ref": "#/definitions/parameter"}},
                **_any("$ref", "x-ms-notification-content"),
            }
        ),
        "operation": _closed(
            {
                "operationId": {"type": "string"},
                "summary": {"type": "string"},
                "description": {"type": "string"},
                "parameters": {"type": "array", "items": {"$ref": "#/definitions/parameter"}},
                "responses": {
                    "type": "object",
                    "minProperties": 1,
                    "patternProperties": {
                        "^([0-9]{3}|default)$": {"$ref": "#/definitions/response"},
                        _ANY_X: {},
                    },
                    "additionalProperties": False,
                },
                "consumes": {"type": "array", "items": {"type": "string"}},
                "produces": {"type": "array", "items": {"type": "string"}},
                "x-ms-visibility": VISIBILITY,
                "x-ms-summary": SUMMARY,
                "x-ms-pageable": _closed({"nextLinkName": {"type": "string"}}, ("nextLinkName",)),
                **_any("tags", "externalDocs", "schemes", "deprecated", "security"),
                **_any("x-ms-api-annotation", "x-ms-capabilities", "x-ms-no-generic-test"),
                **_any("x-ms-operation-context", "x-ms-safe-operation", "x-ms-trigger"),
                **_any("x-ms-trigger-hint", "x-ms-trigger-metadata", "x-ms-notification"),
            },
            ("responses",),
        ),
        "parameter": {
            "oneOf": [
                _closed(
                    {
                        **_PARAMETER_EXTRAS,
                        "in": {"enum": ["body"]},
                        "required": {"type": "boolean"},
                        "schema": _SCHEMA_REF,
                    },
                    ("name", "in", "schema"),
                ),
                _non_body("query", {"type": "boolean"}),
                _non_body("header", {"type": "boolean"}),
                _non_body("path", {"enum": [True]}),
            ]
        },
        "response": _closed(
            {
                "description": {"type": "string"},
                "schema": _SCHEMA_REF,
                "headers": {
                    "type": "object",
                    "additionalProperties": _closed(
                        {
                            **_PRIMITIVE,
                            "description": {"type": "string"},
                            "x-ms-summary": SUMMARY,
                            "x-ms-visibility": VISIBILITY,
                        },
                        ("type",),
                    ),
                },
                "examples": {"type": "object"},
                "x-ms-summary": SUMMARY,
            },
            ("description",),
        ),
        "items": _closed(_PRIMITIVE),
        "schema": _closed(
            {
                "$ref": {"type": "string"},
                "format": {"type": "string", "enum": list(FORMATS)},
                "type": {"anyOf": [_TYPE, {"type": "array", "items": _TYPE}]},
                "properties": {"type": "object", "additionalProperties": _SCHEMA_REF},
                "additionalProperties": {"anyOf": [_SCHEMA_REF, {"type": "boolean"}]},
                "items": {"anyOf": [_SCHEMA_REF, {"type": "array", "items": _SCHEMA_REF}]},
                "allOf": {"type": "array", "minItems": 1, "items": _SCHEMA_REF},
                "required": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                **_any("title", "description", "default", "multipleOf", "maximum"),
                **_any("exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength"),
                **_any("minLength", "pattern", "maxItems", "minItems", "uniqueItems"),
                **_any("maxProperties", "minProperties", "enum", "discriminator", "readOnly"),
                **_any("xml", "externalDocs", "example"),
                "x-ms-summary": SUMMARY,
                "x-ms-visibility": VISIBILITY,
                "x-ms-dynamic-values": _DYNAMIC_VALUES,
                "x-ms-dynamic-list": _DYNAMIC_LIST,
                **_any("x-ms-enum", "x-ms-enum-values", "x-ms-localizeDefaultValue"),
                **_any("x-ms-notification-url", "x-ms-test-value"),
            }
        ),
        "security": {
            "oneOf": [
                _closed(
                    {
                        "type": {"enum": ["apiKey"]},
                        "name": {"type": "string"},
                        "in": {"enum": ["header", "query"]},
                        "description": {"type": "string"},
                    },
                    ("type", "name", "in"),
                ),
                _closed(
                    {
                        "type": {"enum": ["oauth2"]},
                        "flow": {"enum": ["accessCode"]},
                        "authorizationUrl": {"type": "string"},
                        "tokenUrl": {"type": "string"},
                        "scopes": {"type": "object", "additionalProperties": {"type": "string"}},
                        "description": {"type": "string"},
                    },
                    ("type", "flow", "authorizationUrl", "tokenUrl"),
                ),
                _closed({"type": {"enum": ["basic"]}, "description": {"type": "string"}}),
            ]
        },
    },
}


def _reasons(error: ValidationError) -> list[ValidationError]:
    """The errors that say why: for a oneOf, those of the branch its ``in`` or ``type``
    picks (a parameter's location, a security scheme's type), not the whole instance."""
    if not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    chosen = [
        errors
        for errors in branches.values()
        if not any(list(e.relative_path) in (["in"], ["type"]) for e in errors)
    ]
    if not chosen:
        return [error]
    return [reason for sub in chosen[0] for reason in _reasons(sub)]


def schema_findings(doc: Any) -> list[str]:
    """Each place where ``doc`` breaks the definition schema, as ``/path: message``."""
    validator = Draft4Validator(DEFINITION_SCHEMA)
    return sorted(
        f"/{'/'.join(map(str, reason.absolute_path))}: {reason.message}"
        " (Power Platform definition schema)"
        for error in validator.iter_errors(doc)
        for reason in _reasons(error)
    )
