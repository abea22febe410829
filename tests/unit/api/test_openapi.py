"""The OpenAPI document is derived from the models, not written by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
from annotated_types import MaxLen, MinLen

from scripts import connector
from shared.api.openapi import openapi_document, operation_id
from shared.api.routes import OPERATIONS
from shared.payment.echoes import ECHO_RULES, ECHOED
from shared.payment.fields import API_VERSIONS, ApiVersion
from shared.payment.models import PATCH_MODELS, editable_properties
from tests.support.fakes import COMPANY, settings_with

ROUTE = (
    "/{v}/companies/{{companyId}}/customerPaymentJournals/{{journalId}}"
    "/customerPayments/{{paymentId}}"
)


def patch_schema(document: dict[str, Any], version: ApiVersion) -> dict[str, Any]:
    ref = document["paths"][ROUTE.format(v=version)]["patch"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("version", API_VERSIONS)
def test_patch_schema_mirrors_the_model(version: ApiVersion) -> None:
    schema = patch_schema(openapi_document(settings_with()), version)
    assert schema["additionalProperties"] is False
    assert schema["minProperties"] == 1
    assert "required" not in schema
    editable = [name for name, prop in schema["properties"].items() if not prop.get("readOnly")]
    assert editable == list(editable_properties(version))
    # Then the read-only properties a line sent back as it was read may carry, each
    # with its rule; any other property is refused (additionalProperties).
    echoes = {name: prop for name, prop in schema["properties"].items() if prop.get("readOnly")}
    assert list(echoes) == list(ECHOED)
    assert {name: prop["description"] for name, prop in echoes.items()} == ECHO_RULES
    for name, info in PATCH_MODELS[version].model_fields.items():
        prop = schema["properties"][name]
        assert "default" not in prop
        for meta in info.metadata:
            if isinstance(meta, MaxLen):
                assert prop["maxLength"] == meta.max_length
            if isinstance(meta, MinLen):
                assert prop["minLength"] == meta.min_length


def test_formats_patterns_and_ranges_are_visible() -> None:
    props = patch_schema(openapi_document(settings_with()), "v1.0")["properties"]
    assert props["customerId"]["format"] == "uuid"
    assert "pattern" in props["customerId"]
    assert props["postingDate"]["format"] == "date"
    assert props["lineNumber"]["minimum"] == 1
    assert props["lineNumber"]["maximum"] == 2147483647
    assert props["description"]["maxLength"] == 100
    assert props["contactId"]["maxLength"] == 250
    number, string = props["amount"]["anyOf"]
    assert number["exclusiveMaximum"] == 10**12
    assert string["type"] == "string"
    assert props["amount"]["x-fraction-digits"] == 2


def test_amount_has_no_float_step_that_rejects_exact_cents() -> None:
    # multipleOf 0.01 is a binary float: 19.99 / 0.01 is not an integer in
    # IEEE arithmetic, so strict validators would refuse a valid amount.
    amount = patch_schema(openapi_document(settings_with()), "v2.0")["properties"]["amount"]
    assert "multipleOf" not in json.dumps(amount)


def test_amount_fraction_digits_follow_the_setting_without_a_float() -> None:
    document = openapi_document(settings_with(AMOUNT_DECIMALS="4"))
    amount = patch_schema(document, "v2.0")["properties"]["amount"]
    assert amount["x-fraction-digits"] == 4

    def floats(value: Any) -> list[float]:
        if isinstance(value, dict):
            return [f for v in value.values() for f in floats(v)]
        if isinstance(value, list):
            return [f for v in value for f in floats(v)]
        return [value] if isinstance(value, float) else []

    # No float anywhere in the document: no multipleOf a binary float cannot hold.
    assert floats(document) == []


def test_the_served_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    for settings in (settings_with(), settings_with(CALLER_AUTH="entra", ALLOWED_CALLERS=COMPANY)):
        validate(openapi_document(settings), cls=OpenAPIV31SpecValidator)


def test_every_route_of_the_table_is_documented_once_per_api_version() -> None:
    document = openapi_document(settings_with())
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    expected = [
        operation_id(op, v)
        for op in OPERATIONS
        for v in (API_VERSIONS if op.versioned else (None,))
    ]
    assert sorted(ids) == sorted(expected)
    assert len(set(ids)) == len(ids)
    lines = document["paths"][ROUTE.format(v="v2.0").rsplit("/", 1)[0]]["get"]
    names = [p["name"] for p in lines["parameters"]]
    assert "Accept" not in names  # OpenAPI 3.1 ignores it; only the connector sends it
    doc_number = next(p for p in lines["parameters"] if p["name"] == "documentNumber")
    # A Code value may be padded with spaces Business Central trims: the limit is
    # on the trimmed value, so no maxLength on the raw string.
    assert "maxLength" not in doc_number["schema"]
    assert doc_number["schema"]["x-code-max-length"] == 20
    assert doc_number["in"] == "query"
    top = next(p for p in lines["parameters"] if p["name"] == "top")
    assert (top["schema"]["minimum"], top["schema"]["maximum"]) == (1, 1000)


def test_if_match_is_required_unless_a_default_is_set() -> None:
    def if_match(document: dict[str, Any]) -> dict[str, Any]:
        params = document["paths"][ROUTE.format(v="v2.0")]["patch"]["parameters"]
        return next(p for p in params if p["name"] == "If-Match")

    assert if_match(openapi_document(settings_with()))["required"] is True
    assert if_match(openapi_document(settings_with(IF_MATCH_DEFAULT="*")))["required"] is False


def test_security_follows_caller_auth() -> None:
    assert "functionKey" in openapi_document(settings_with())["components"]["securitySchemes"]
    entra = openapi_document(
        settings_with(CALLER_AUTH="entra", REQUIRED_CALLER_ROLE="Payments.Write")
    )
    assert "functionKey" not in entra["components"]["securitySchemes"]


def test_every_problem_status_is_documented_for_patch() -> None:
    responses = openapi_document(settings_with())["paths"][ROUTE.format(v="v2.0")]["patch"][
        "responses"
    ]
    for status in (
        "200",
        "400",
        "401",
        "403",
        "404",
        "412",
        "413",
        "415",
        "422",
        "428",
        "429",
        "500",
        "502",
        "503",
        "504",
    ):
        assert status in responses


def test_a_bulk_item_without_client_ref_is_documented_as_null_in_each_dialect() -> None:
    # The status route echoes clientRef as null for an update sent without one.
    schemas = openapi_document(settings_with())["components"]["schemas"]
    client_ref = schemas["BulkItemResult"]["properties"]["clientRef"]
    assert client_ref["type"] == ["string", "null"]
    assert "x-nullable" not in json.dumps(schemas)
    swagger = connector.swagger()["definitions"]["BulkItemResult"]["properties"]["clientRef"]
    assert (swagger["type"], swagger["x-nullable"]) == ("string", True)
