"""The custom connector: generated from the route table and the payment
models, valid Swagger 2.0, clean under the connector lint, byte-stable, and
committed as generated."""

from __future__ import annotations

import copy
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from annotated_types import Ge, Le, MaxLen, MinLen
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV2SpecValidator

from scripts import connector
from scripts.connector_lint import lint_definition, lint_properties
from shared.payments import DATE_PATTERN, GUID_PATTERN, PATCH_MODELS, TEXT_PATTERN

ROOT = Path(__file__).resolve().parents[2]
PAYMENT = (
    "/v2.0/companies/{companyId}/customerPaymentJournals/{journalId}/customerPayments/{paymentId}"
)
LINES = PAYMENT.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return connector.swagger()


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}


def param(op: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in op["parameters"] if p["name"] == name)


@pytest.mark.parametrize("auth", ["key", "entra"])
def test_committed_files_are_what_the_generator_writes(auth: connector.Auth) -> None:
    for path, content in connector.files(auth).items():
        assert path.read_bytes() == content, f"{path} is stale: run make connector"


def test_generating_twice_gives_the_same_bytes_in_another_process() -> None:
    assert connector.files("key") == connector.files("key")
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        for auth in ("key", "entra"):
            done = subprocess.run(
                [sys.executable, "-m", "scripts.connector", "--check", "--auth", auth],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("auth", ["key", "entra"])
def test_definition_is_valid_swagger_2_0_and_passes_the_lint(auth: connector.Auth) -> None:
    definition = connector.swagger(auth)
    validate(definition, cls=OpenAPIV2SpecValidator)
    assert lint_definition(definition) == []
    assert lint_properties(connector.api_properties(auth), definition) == []


def test_the_operations_makers_see(doc: dict[str, Any]) -> None:
    ops = operations(doc)
    assert {name: op.get("x-ms-visibility") for name, op in ops.items()} == {
        "GetCustomerPayment": "important",
        "UpdateCustomerPayment": "important",
        "ValidateCustomerPayment": "advanced",
        "ListCompanies": "internal",
        "ListCustomerPaymentJournals": "internal",
        "FindCustomerPayments": "important",
    }
    assert ops["FindCustomerPayments"]["summary"] == "Find payment lines"
    assert ops["FindCustomerPayments"]["x-ms-pageable"] == {"nextLinkName": "nextLink"}
    assert all(len(op["summary"]) <= 80 for op in ops.values())  # certification length
    assert set(doc["paths"]) == {
        PAYMENT,
        PAYMENT + "/validate",
        "/v2.0/companies",
        "/v2.0/companies/{companyId}/customerPaymentJournals",
        LINES,
    }


def test_update_needs_the_etag_labelled_as_such(doc: dict[str, Any]) -> None:
    update = operations(doc)["UpdateCustomerPayment"]
    etag = param(update, "If-Match")
    assert etag["required"] is True
    assert etag["x-ms-summary"] == "ETag"
    assert "*" in etag["description"]
    assert "overwrite" in etag["description"]
    assert "default" not in etag
    body = param(update, "body")
    assert body["schema"] == {"$ref": "#/definitions/PaymentPatchV2"}
    assert update["responses"]["200"]["headers"]["ETag"]["x-ms-summary"] == "ETag"


def test_dropdowns_come_from_the_list_operations(doc: dict[str, Any]) -> None:
    get = operations(doc)["GetCustomerPayment"]
    expected = {
        "companyId": ("ListCompanies", {}),
        "journalId": ("ListCustomerPaymentJournals", {"companyId": {"parameter": "companyId"}}),
        "paymentId": (
            "FindCustomerPayments",
            {"companyId": {"parameter": "companyId"}, "journalId": {"parameter": "journalId"}},
        ),
    }
    for name, (target, passed) in expected.items():
        values = param(get, name)["x-ms-dynamic-values"]
        assert (values["operationId"], values.get("parameters", {})) == (target, passed)
        assert param(get, name)["x-ms-dynamic-list"]["operationId"] == target
        assert param(get, name)["x-ms-url-encoding"] == "single"
    # A list does not offer itself: the journal list's company comes from ListCompanies.
    journals = operations(doc)["ListCustomerPaymentJournals"]
    assert param(journals, "companyId")["x-ms-dynamic-values"]["operationId"] == "ListCompanies"


def test_every_call_asks_for_plain_json_problems(doc: dict[str, Any]) -> None:
    for op in operations(doc).values():
        accept = param(op, "Accept")
        assert accept["x-ms-visibility"] == "internal"
        assert (accept["required"], accept["default"]) == (True, "application/json")
        assert "schema" not in op["responses"]["default"]
    assert doc["produces"] == doc["consumes"] == ["application/json"]
    assert "problem+json" not in json.dumps(doc)


def test_every_editable_property_appears_with_its_rules(doc: dict[str, Any]) -> None:
    schema = doc["definitions"]["PaymentPatchV2"]
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == list(PATCH_MODELS["v2.0"].model_fields)
    for name, info in PATCH_MODELS["v2.0"].model_fields.items():
        prop = schema["properties"][name]
        assert prop["x-ms-summary"]
        assert prop["description"] == info.description
        for meta in info.metadata:
            if isinstance(meta, MaxLen):
                assert prop["maxLength"] == meta.max_length
            if isinstance(meta, MinLen):
                assert prop["minLength"] == meta.min_length
            if isinstance(meta, Ge):
                assert prop["minimum"] == meta.ge
            if isinstance(meta, Le):
                assert prop["maximum"] == meta.le
    props = schema["properties"]
    assert (props["customerId"]["format"], props["customerId"]["pattern"]) == ("uuid", GUID_PATTERN)
    assert (props["postingDate"]["format"], props["postingDate"]["pattern"]) == (
        "date",
        DATE_PATTERN,
    )
    assert props["description"]["pattern"] == TEXT_PATTERN
    amount = props["amount"]
    assert (amount["type"], amount["format"], amount["x-fraction-digits"]) == (
        "number",
        "decimal",
        2,
    )
    assert "multipleOf" not in amount
    assert (amount["maximum"], amount["exclusiveMaximum"]) == (10**12, True)


def test_amount_digits_follow_the_generator_option() -> None:
    definition = connector.swagger(amount_decimals=4)
    assert (
        definition["definitions"]["PaymentPatchV2"]["properties"]["amount"]["x-fraction-digits"]
        == 4
    )


def test_search_filters_carry_the_rules_of_their_properties(doc: dict[str, Any]) -> None:
    find = operations(doc)["FindCustomerPayments"]
    patch = doc["definitions"]["PaymentPatchV2"]["properties"]
    for name in ("documentNumber", "externalDocumentNumber", "customerNumber"):
        filtered = param(find, name)
        assert filtered["in"] == "query"
        assert filtered["maxLength"] == patch[name]["maxLength"]
        assert filtered["pattern"] == patch[name]["pattern"]
    assert (param(find, "top")["minimum"], param(find, "top")["maximum"]) == (1, 1000)


def test_every_output_is_labelled(doc: dict[str, Any]) -> None:
    for name in ("PaymentLineV2", "PaymentLineListV2", "CompanyList", "Company", "Journal"):
        props = doc["definitions"][name]["properties"]
        assert all(p.get("x-ms-summary") for p in props.values()), name
    assert doc["definitions"]["PaymentLineV2"]["properties"]["etag"]["x-ms-summary"] == "ETag"


def test_api_properties_for_function_keys_and_for_entra() -> None:
    key = connector.api_properties("key")["properties"]
    assert key["connectionParameters"]["api_key"]["type"] == "securestring"
    assert "defaultValue" not in key["connectionParameters"]["api_key"]
    host = key["policyTemplateInstances"][0]
    assert host["templateId"] == "dynamichosturl"
    assert "@connectionParameters('hostName')" in json.dumps(host)
    assert connector.swagger("key")["securityDefinitions"]["api_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-functions-key",
    }
    entra = connector.api_properties("entra", client_id="c", resource_uri="api://r", tenant_id="t")
    settings = entra["properties"]["connectionParameters"]["token"]["oAuthSettings"]
    assert (settings["identityProvider"], settings["redirectMode"]) == ("aad", "GlobalPerConnector")
    assert settings["customParameters"]["resourceUri"] == {"value": "api://r"}
    assert settings["clientId"] == "c"
    assert connector.swagger("entra")["securityDefinitions"]["oauth2_auth"]["flow"] == "accessCode"


def test_icon_is_a_png_in_the_brand_colour() -> None:
    png = connector.icon_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (230, 230)
    start = png.index(b"IDAT") + 4
    length = struct.unpack(">I", png[start - 8 : start - 4])[0]
    pixels = zlib.decompress(png[start : start + length])
    assert len(pixels) == height * (1 + 3 * width)
    assert pixels[1:4] == bytes.fromhex(connector.BRAND_COLOR[1:])  # the corner


# --- the lint catches each rule it claims ---------------------------------------------------------


def broken(doc: dict[str, Any], change: Any) -> list[str]:
    copied = copy.deepcopy(doc)
    change(copied)
    return lint_definition(copied)


def _get(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc["paths"][PAYMENT]["get"])


RULES: list[tuple[str, Any, str]] = [
    (
        "id chars",
        lambda d: d["paths"][PAYMENT]["get"].update(operationId="Get-Line"),
        "letters and digits",
    ),
    (
        "id unique",
        lambda d: d["paths"][PAYMENT]["patch"].update(operationId="GetCustomerPayment"),
        "not unique",
    ),
    ("summary long", lambda d: d["paths"][PAYMENT]["get"].update(summary="x" * 120), "under 120"),
    (
        "summary = description",
        lambda d: d["paths"][PAYMENT]["get"].update(description="Read one customer payment line"),
        "differ",
    ),
    (
        "path param optional",
        lambda d: d["paths"][PAYMENT]["get"]["parameters"][0].update(required=False),
        "must be required",
    ),
    (
        "url encoding",
        lambda d: d["paths"][PAYMENT]["get"]["parameters"][0].pop("x-ms-url-encoding"),
        "x-ms-url-encoding",
    ),
    ("problem json", lambda d: d.update(produces=["application/problem+json"]), "not allowed"),
    (
        "anyOf",
        lambda d: d["definitions"]["Company"]["properties"]["id"].update(anyOf=[{}]),
        "anyOf is not allowed",
    ),
    (
        "no 2xx",
        lambda d: d["paths"][PAYMENT]["get"].update(responses={"default": {"description": "x"}}),
        "2xx",
    ),
    (
        "default schema",
        lambda d: d["paths"][PAYMENT]["get"]["responses"]["default"].update(schema={}),
        "default response carries no schema",
    ),
    (
        "202 schema",
        lambda d: d["paths"][PAYMENT]["get"]["responses"].update(
            {"202": {"description": "x", "schema": {"type": "object"}}}
        ),
        "200 or 201",
    ),
    (
        "GET body",
        lambda d: d["paths"][PAYMENT]["get"]["parameters"].append(
            {"name": "b", "in": "body", "schema": {}, "x-ms-summary": "B"}
        ),
        "has no body",
    ),
    (
        "internal default",
        lambda d: param(d["paths"][PAYMENT]["get"], "Accept").pop("default"),
        "internal parameter",
    ),
    (
        "label",
        lambda d: param(d["paths"][PAYMENT]["get"], "Accept-Language").pop("x-ms-summary"),
        "no x-ms-summary",
    ),
    (
        "output label",
        lambda d: d["definitions"]["PaymentLineV2"]["properties"]["amount"].pop("x-ms-summary"),
        "amount: no x-ms-summary",
    ),
    (
        "dropdown target",
        lambda d: param(d["paths"][PAYMENT]["get"], "companyId")["x-ms-dynamic-values"].update(
            operationId="Nope"
        ),
        "names no operation",
    ),
    ("title", lambda d: d["info"].update(title="Payments API"), "API"),
    ("title length", lambda d: d["info"].update(title="x" * 31), "30 characters"),
    ("description", lambda d: d["info"].update(description="short"), "30 to 500"),
    ("security", lambda d: d.update(security=[]), "authenticates"),
    (
        "key in query",
        lambda d: d["securityDefinitions"]["api_key"].update({"in": "query", "name": "code"}),
        "x-functions-key header",
    ),
    ("swagger 3", lambda d: d.update(swagger="3.0"), "2.0"),
]


@pytest.mark.parametrize(("rule", "change", "expected"), RULES, ids=[r[0] for r in RULES])
def test_the_lint_catches_each_rule(
    doc: dict[str, Any], rule: str, change: Any, expected: str
) -> None:
    found = broken(doc, change)
    assert any(expected in problem for problem in found), found


def test_the_lint_wants_one_whole_parameter_per_segment(doc: dict[str, Any]) -> None:
    copied = copy.deepcopy(doc)
    op = copy.deepcopy(_get(doc))
    op["operationId"] = "Other"
    copied["paths"]["/v2.0/x{companyId}"] = {"get": op}
    found = lint_definition(copied)
    assert any("one whole {parameter}" in problem for problem in found), found
    assert any("journalId is not in the path" in problem for problem in found), found


def test_the_lint_checks_api_properties(doc: dict[str, Any]) -> None:
    props = connector.api_properties("key")
    props["properties"]["iconBrandColor"] = "#007ee5"
    props["properties"]["connectionParameters"]["api_key"]["type"] = "string"
    found = lint_properties(props, doc)
    assert any("reserved" in p for p in found)
    assert any("securestring" in p for p in found)
    entra = connector.api_properties("entra")
    del entra["properties"]["connectionParameters"]["token"]["oAuthSettings"]["customParameters"][
        "resourceUri"
    ]
    assert any("resourceUri" in p for p in lint_properties(entra, connector.swagger("entra")))


def test_the_makers_guide_names_every_action(doc: dict[str, Any]) -> None:
    guide = (ROOT / "docs" / "power-automate.md").read_text()
    for name, op in operations(doc).items():
        assert f"`{name}`" in guide
        assert op["summary"] in guide
