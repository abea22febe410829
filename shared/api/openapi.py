"""The OpenAPI 3.1 document, generated from the route table and the payment
models.

Nothing here restates a field rule: lengths, patterns, formats and ranges come
from ``shared.payment.fields``, paths and parameters from ``shared.api.routes``; this
module only lays them out. The schema helpers are shared with the connector
generator, which writes the same models as Swagger 2.0.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

from shared.api.labels import property_label, titled
from shared.api.routes import BULK_REQUESTS, OPERATIONS
from shared.api.schemas import response_model
from shared.api.spec import NULLABLE, Operation, Parameter
from shared.payment.echoes import ECHO_RULES, ECHOED
from shared.payment.fields import AMOUNT_LIMIT, API_VERSIONS, NUMBER_PATTERN, ApiVersion
from shared.payment.models import LINE_MODELS, PATCH_MODELS
from shared.process.problems import PROBLEM_TYPES
from shared.process.settings import Settings

REF = "#/components/schemas/{model}"
Dialect = Literal["openapi-3.1", "swagger-2.0"]


def amount_schema(amount_decimals: int, dialect: Dialect = "openapi-3.1") -> dict[str, Any]:
    """The exact-decimal amount. The fraction digits are a count
    (``x-fraction-digits``), never a float ``multipleOf`` such as 0.01, which
    binary floating point cannot represent and validators then misjudge."""
    limit = int(AMOUNT_LIMIT)
    if dialect == "swagger-2.0":
        # Swagger 2.0 has no anyOf: the number form only; bounds as booleans. No
        # format: the Power Platform's definition schema has no "decimal" and refuses
        # the import; "double" would invite binary rounding. The proxy reads the
        # number's digits exactly and refuses more fraction digits than allowed.
        return {
            "type": "number",
            "minimum": -limit,
            "exclusiveMinimum": True,
            "maximum": limit,
            "exclusiveMaximum": True,
            "x-fraction-digits": amount_decimals,
        }
    return {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit},
            {"type": "string", "pattern": NUMBER_PATTERN},
        ],
        "x-fraction-digits": amount_decimals,
    }


def schema_generator(
    amount_decimals: int, dialect: Dialect = "openapi-3.1"
) -> type[GenerateJsonSchema]:
    class ProxySchema(GenerateJsonSchema):
        def field_title_should_be_set(self, schema: Any) -> bool:
            return False  # property names are their own titles

        def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
            # Patch properties default to "absent", which JSON Schema cannot say.
            return self.generate_inner(schema["schema"])

        def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
            # No multipleOf: a float step such as 0.01 makes strict validators
            # reject 19.99 (binary rounding); see amount_schema.
            return amount_schema(amount_decimals, dialect)

        def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
            # Optional response properties are absent, never null.
            return self.generate_inner(schema["schema"])

        def generate(
            self, schema: core_schema.CoreSchema, mode: JsonSchemaMode = "validation"
        ) -> JsonSchemaValue:
            result = super().generate(schema, mode)
            if dialect == "openapi-3.1":
                nullable_as_type(result)
                titled(result)
            return result

        def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
            result = super().literal_schema(schema)
            if dialect == "swagger-2.0" and "const" in result:
                # Swagger 2.0 has no const: a one-value enum says the same.
                result["enum"] = [result.pop("const")]
            return result

    return ProxySchema


def nullable_as_type(node: Any) -> None:
    """OpenAPI 3.1 says "may be null" with a null type, not Swagger's x-nullable."""
    if isinstance(node, list):
        for item in node:
            nullable_as_type(item)
    elif isinstance(node, dict):
        if node.pop(NULLABLE, False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            nullable_as_type(value)


class _Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    requestId: str
    errors: list[dict[str, str]] | None = None
    upstream: dict[str, Any] | None = None


def model_schemas(
    models: list[type[BaseModel]], generator: type[GenerateJsonSchema], ref_template: str = REF
) -> dict[str, Any]:
    """Each model's schema by name, with the models they use; patch models
    (the request bodies) in validation mode, with at least one property."""
    schemas: dict[str, Any] = {}
    for model in models:
        if model.__name__ in schemas:
            continue
        is_patch = model in PATCH_MODELS.values()
        mode: JsonSchemaMode = "validation" if is_patch else "serialization"
        schema = model.model_json_schema(
            ref_template=ref_template, schema_generator=generator, mode=mode
        )
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        if is_patch:
            schema["minProperties"] = 1
        schemas[model.__name__] = schema
    return schemas


def documented_models() -> list[type[BaseModel]]:
    """Every model the routes use, request bodies first."""
    models: list[type[BaseModel]] = [
        *PATCH_MODELS.values(),
        *BULK_REQUESTS.values(),
        *LINE_MODELS.values(),
    ]
    for op in OPERATIONS:
        for version in API_VERSIONS if op.versioned else (None,):
            model = response_model(op.response, version)
            if model is not None and model not in models:
                models.append(model)
    return models


def parameter_schema(
    parameter: Parameter, version: ApiVersion | None, schemas: dict[str, Any]
) -> dict[str, Any]:
    """The parameter's schema; a filter takes its property's, from the models."""
    prop = parameter.schema.get("$property")
    if prop is None:
        return dict(parameter.schema)
    model = PATCH_MODELS[version or "v2.0"].__name__
    schema = dict(schemas[model]["properties"][prop])
    schema.pop("description", None)
    return schema


def operation_id(op: Operation, version: ApiVersion | None) -> str:
    return op.operation_id + (version.replace(".", "").upper() if version else "")


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


_HEALTH_SCHEMA = {"type": "object", "properties": {"status": {"const": "ok"}}}


def _parameter(
    parameter: Parameter, version: ApiVersion | None, settings: Settings, schemas: dict[str, Any]
) -> dict[str, Any]:
    required = parameter.required and not (
        parameter.defaulted_by_setting and settings.if_match_default is not None
    )
    return {
        "name": parameter.name,
        "in": parameter.location,
        "required": required,
        "description": parameter.description,
        "schema": parameter_schema(parameter, version, schemas),
    }


def _ok_response(op: Operation, version: ApiVersion | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": op.response_description}
    if op.auth != "anonymous":
        headers: dict[str, Any] = {}
        if op.etag_header:
            headers["ETag"] = {
                "description": "Send as If-Match to update",
                "schema": {"type": "string"},
            }
        if op.body == "patch":
            headers["x-application-check"] = {
                "description": "For an update that names a customer or an invoice: passed, "
                "or not-made; reason=... (Business Central could not be read)",
                "schema": {"type": "string"},
            }
        headers["x-request-id"] = {"schema": {"type": "string"}}
        response["headers"] = headers
    model = response_model(op.response, version)
    content: dict[str, Any]
    if model is not None:
        content = {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}
    elif op.response == "problems":
        content = {"text/html": {"schema": {"type": "string"}}}
    else:
        content = {"application/json": {"schema": _HEALTH_SCHEMA}}
    response["content"] = content
    return response


def _operation(
    op: Operation, version: ApiVersion | None, settings: Settings, schemas: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": operation_id(op, version),
        "summary": op.summary + (f" (API {version})" if version else ""),
        "description": op.description,
    }
    if op.auth == "anonymous":
        out["security"] = []
    parameters = [
        _parameter(p, version, settings, schemas) for p in op.parameters if not p.connector_only
    ]
    if parameters:
        out["parameters"] = parameters
    if op.body == "patch" and version is not None:
        body = {"$ref": REF.format(model=PATCH_MODELS[version].__name__)}
        out["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": body}
                for media in ("application/json", "application/merge-patch+json")
            },
        }
    if op.body == "bulk" and version is not None:
        body = {"$ref": REF.format(model=BULK_REQUESTS[version].__name__)}
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    success = _ok_response(op, version)
    if op.success_status == 202:
        success.setdefault("headers", {}).update(
            {
                "Location": {"description": "Where to poll", "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
            }
        )
    out["responses"] = {
        str(op.success_status): success,
        **_bulk_other_successes(op, success),
        **_problem_responses(list(op.problems)),
    }
    return out


def _bulk_other_successes(op: Operation, success: dict[str, Any]) -> dict[str, Any]:
    """A bulk start may only validate (200); a job's status is 202 while it runs."""
    if op.response == "bulkAccepted":
        checked = {
            "type": "object",
            "required": ["valid", "total"],
            "properties": {
                "valid": {"const": True},
                "total": {"type": "integer"},
                "applicationCheck": {
                    "type": "object",
                    "description": "The updates checked against Business Central: how many, "
                    "and those whose check could not be made.",
                    "properties": {
                        "checked": {"type": "integer"},
                        "notMade": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        }
        return {
            "200": {
                "description": "validateOnly=true: every update is valid; nothing started",
                "content": {"application/json": {"schema": checked}},
            }
        }
    if op.running_answer:
        headers = {
            "Location": {"description": "Where to poll", "schema": {"type": "string"}},
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
        }
        return {"202": {**success, "description": "The job is running", "headers": headers}}
    return {}


def _describe_echoes(schemas: dict[str, Any]) -> None:
    """A PATCH body may carry back the read-only properties of a read
    (``shared.payment.echoes``): each is listed, ``readOnly``, with its rule."""
    lines = [schemas[model.__name__]["properties"] for model in LINE_MODELS.values()]
    for model in PATCH_MODELS.values():
        properties = schemas[model.__name__]["properties"]
        for name in ECHOED:
            read = next((line[name] for line in lines if name in line), {"type": "string"})
            properties[name] = {
                **read,
                "title": property_label(name),
                "readOnly": True,
                "description": ECHO_RULES[name],
            }


def openapi_document(settings: Settings) -> dict[str, Any]:
    generator = schema_generator(settings.amount_decimals)
    schemas: dict[str, Any] = {"Problem": _problem_schema()}
    schemas.update(model_schemas(documented_models(), generator))
    _describe_echoes(schemas)
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        for version in API_VERSIONS if op.versioned else (None,):
            item = paths.setdefault(op.path_for(version), {})
            item[op.method.lower()] = _operation(op, version, settings, schemas)
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
                "validated field by field and sent with the proxy's managed identity, "
                "with lists and lookups to find them. Errors are RFC 9457 problem "
                "details. The v1.0 journal set is also accepted under its documented "
                "misspelling customerPaymentsJournals."
            ),
        },
        "servers": [{"url": "/api"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": schemes},
        "security": security,
    }
