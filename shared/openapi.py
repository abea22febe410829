"""The OpenAPI 3.1 document, generated from the payment models.

Nothing here restates a field rule: lengths, patterns, formats and ranges come
from ``shared.payments``; this module only lays out paths and responses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

from shared.payments import (
    AMOUNT_LIMIT,
    API_VERSIONS,
    GUID_PATTERN,
    LINE_MODELS,
    NUMBER_PATTERN,
    PATCH_MODELS,
    ApiVersion,
)
from shared.problems import PROBLEM_TYPES
from shared.settings import Settings

REF = "#/components/schemas/{model}"


def amount_schema(amount_decimals: int) -> dict[str, Any]:
    """The amount: a JSON number or a numeric string, exact, bounded, with at
    most ``amount_decimals`` fraction digits."""
    limit = int(AMOUNT_LIMIT)
    return {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit},
            {"type": "string", "pattern": NUMBER_PATTERN},
        ],
        "x-fraction-digits": amount_decimals,
    }


def _schema_generator(amount_decimals: int) -> type[GenerateJsonSchema]:
    class ProxySchema(GenerateJsonSchema):
        def field_title_should_be_set(self, schema: Any) -> bool:
            return False  # property names are their own titles

        def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
            # Patch properties default to "absent", which JSON Schema cannot say.
            return self.generate_inner(schema["schema"])

        def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
            # No multipleOf: a float step such as 0.01 makes strict validators
            # reject 19.99 (binary rounding). The fraction digits are stated
            # as an extension keyword and, for strings, in the pattern.
            return amount_schema(amount_decimals)

    return ProxySchema


class _Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    requestId: str
    errors: list[dict[str, str]] | None = None
    upstream: dict[str, Any] | None = None


def _schema(
    model: type[BaseModel], generator: type[GenerateJsonSchema], mode: JsonSchemaMode
) -> dict[str, Any]:
    return model.model_json_schema(ref_template=REF, schema_generator=generator, mode=mode)


def _problem_schema() -> dict[str, Any]:
    schema = _Problem.model_json_schema(ref_template=REF)
    schema["title"] = "Problem"
    schema["properties"]["type"]["format"] = "uri"
    schema["properties"]["errors"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["field", "code", "message"],
            "properties": {
                "field": {"type": "string"},
                "code": {"type": "string"},
                "message": {"type": "string"},
            },
        },
    }
    schema["properties"]["upstream"] = {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "integer"},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "correlationId": {"type": "string"},
        },
    }
    return schema


def _problem_responses(statuses: list[int]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in statuses:
        slugs = sorted(t.slug for t in PROBLEM_TYPES.values() if t.status == status)
        response: dict[str, Any] = {
            "description": "Problem: " + ", ".join(slugs),
            "content": {
                media: {"schema": {"$ref": REF.format(model="Problem")}}
                for media in ("application/problem+json", "application/json")
            },
        }
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer"},
                }
            }
        responses[str(status)] = response
    return responses


def _path_item(version: ApiVersion, settings: Settings) -> dict[str, Any]:
    guid = {"type": "string", "format": "uuid", "pattern": GUID_PATTERN}
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": guid, "description": text}
        for name, text in (
            ("companyId", "Business Central company id"),
            ("journalId", "Customer payment journal id"),
            ("paymentId", "Payment line id"),
        )
    ]
    params += [
        {
            "name": "Accept-Language",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
        },
        {
            "name": "x-request-id",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
        },
    ]
    line = {"$ref": REF.format(model=LINE_MODELS[version].__name__)}
    ok = {
        "description": "The payment line, with its current ETag",
        "headers": {
            "ETag": {"description": "Send as If-Match to update", "schema": {"type": "string"}},
            "x-request-id": {"schema": {"type": "string"}},
        },
        "content": {"application/json": {"schema": line}},
    }
    if_match = {
        "name": "If-Match",
        "in": "header",
        "required": settings.if_match_default is None,
        "description": 'The line\'s ETag from a GET (W/"..."), or * to overwrite.',
        "schema": {
            "type": "string",
            "pattern": r'^(\*|(W/)?"[\x21\x23-\x7e]*")$',
            "maxLength": 1024,
        },
    }
    common = [400, 401, 403, 404, 429, 500, 502, 503, 504]
    return {
        "parameters": params,
        "get": {
            "operationId": f"getCustomerPayment{version.replace('.', '').upper()}",
            "summary": f"Read one customer payment line (API {version})",
            "responses": {"200": ok, **_problem_responses(common)},
        },
        "patch": {
            "operationId": f"updateCustomerPayment{version.replace('.', '').upper()}",
            "summary": f"Update properties of one customer payment line (API {version})",
            "parameters": [if_match],
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": {"$ref": REF.format(model=PATCH_MODELS[version].__name__)}}
                    for media in ("application/json", "application/merge-patch+json")
                },
            },
            "responses": {
                "200": ok,
                **_problem_responses(sorted({*common, 412, 413, 415, 422, 428})),
            },
        },
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    generator = _schema_generator(settings.amount_decimals)
    schemas: dict[str, Any] = {"Problem": _problem_schema()}
    for model in (*PATCH_MODELS.values(), *LINE_MODELS.values()):
        mode: JsonSchemaMode = "validation" if model in PATCH_MODELS.values() else "serialization"
        schema = _schema(model, generator, mode)
        schemas.update(schema.pop("$defs", {}))
        if model in PATCH_MODELS.values():
            schema["minProperties"] = 1
        schemas[model.__name__] = schema
    route = (
        "/{version}/companies/{{companyId}}/customerPaymentJournals/{{journalId}}"
        "/customerPayments/{{paymentId}}"
    )
    security: list[dict[str, list[str]]]
    if settings.caller_auth == "key":
        scheme = {"type": "apiKey", "in": "header", "name": "x-functions-key"}
        security = [{"functionKey": []}]
        schemes = {"functionKey": scheme}
    else:
        schemes = {"entra": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        security = [{"entra": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Business Central customer payments proxy",
            "version": "1.0.0",
            "description": (
                "Partial updates of Business Central customer payment journal lines, "
                "validated field by field and sent with the proxy's managed identity. "
                "Errors are RFC 9457 problem details. The v1.0 journal set is also "
                "accepted under its documented misspelling customerPaymentsJournals."
            ),
        },
        "servers": [{"url": "/api"}],
        "paths": {
            **{route.format(version=v): _path_item(v, settings) for v in API_VERSIONS},
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness; makes no upstream call",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "Alive",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"status": {"const": "ok"}},
                                    }
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {"schemas": schemas, "securitySchemes": schemes},
        "security": security,
    }
