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
from scripts.connector_schema import schema_findings
from shared.api.spec import IF_MATCH_PATTERN
from shared.bulk.request import MAX_CLIENT_REF
from shared.payment.fields import DATE_PATTERN, TEXT_PATTERN
from shared.payment.models import PATCH_MODELS
from shared.process.guids import GUID_PATTERN

ROOT = Path(__file__).resolve().parents[2]
PAYMENT = (
    "/v2.0/companies/{companyId}/customerPaymentJournals/{journalId}/customerPayments/{paymentId}"
)
LINES = PAYMENT.rsplit("/", 1)[0]
BULK = LINES.rsplit("/", 1)[0] + "/bulkPaymentUpdates"


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
def test_each_variant_is_imported_with_its_icon(auth: connector.Auth) -> None:
    folder = connector.OUT if auth == "key" else connector.OUT / "entra"
    icon = folder / "icon.png"
    assert connector.files(auth)[icon] == connector.icon_png()
    assert icon.read_bytes() == connector.icon_png()


def test_a_python_without_the_projects_packages_is_told_what_to_run() -> None:
    """The system Python (here: the same one without its site-packages, -S) has
    none of the project's packages: the command says which interpreter to use,
    arguments included, instead of failing deep in an import."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    command = ["-m", "scripts.connector", "--host", "contoso.azurewebsites.net"]
    done = subprocess.run(
        [sys.executable, "-S", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert ".venv/bin/python -m scripts.connector --host contoso.azurewebsites.net" in done.stderr
    assert "make connector" in done.stderr
    assert not (ROOT / "connector" / "apiDefinition.swagger.json").read_text().count("contoso")


@pytest.mark.parametrize("auth", ["key", "entra"])
def test_definition_is_valid_swagger_2_0_and_passes_the_lint(auth: connector.Auth) -> None:
    definition = connector.swagger(auth)
    validate(definition, cls=OpenAPIV2SpecValidator)
    assert lint_definition(definition) == []
    assert lint_properties(connector.api_properties(auth), definition) == []


@pytest.mark.parametrize("auth", ["key", "entra"])
def test_committed_definitions_meet_the_power_platform_schema(auth: connector.Auth) -> None:
    folder = connector.OUT if auth == "key" else connector.OUT / "entra"
    committed = json.loads((folder / "apiDefinition.swagger.json").read_text(encoding="utf-8"))
    assert schema_findings(committed) == []


def test_the_operations_makers_see(doc: dict[str, Any]) -> None:
    ops = operations(doc)
    assert {name: op.get("x-ms-visibility") for name, op in ops.items()} == {
        "GetCustomerPayment": "important",
        "UpdateCustomerPayment": "important",
        "ValidateCustomerPayment": "advanced",
        "ListCompanies": "internal",
        "ListCustomerPaymentJournals": "internal",
        "FindCustomerPayments": "important",
        "ListCustomers": None,
        "ListOpenSalesInvoices": None,
        "SuggestInvoices": "important",
        "StartBulkPaymentUpdate": "important",
        "GetBulkPaymentUpdateStatus": "advanced",
    }
    assert ops["StartBulkPaymentUpdate"]["summary"] == "Start a bulk payment update"
    assert ops["GetBulkPaymentUpdateStatus"]["summary"] == "Get a bulk payment update's status"
    assert ops["FindCustomerPayments"]["summary"] == "Find payment lines"
    assert ops["FindCustomerPayments"]["x-ms-pageable"] == {"nextLinkName": "nextLink"}
    assert all(len(op["summary"]) <= 80 for op in ops.values())  # certification length
    assert set(doc["paths"]) == {
        PAYMENT,
        PAYMENT + "/validate",
        "/v2.0/companies",
        "/v2.0/companies/{companyId}/customerPaymentJournals",
        LINES,
        PAYMENT + "/suggestedInvoices",
        "/v2.0/companies/{companyId}/customers",
        "/v2.0/companies/{companyId}/openSalesInvoices",
        BULK,
        "/bulkPaymentUpdates/{jobId}",
    }
    assert ops["SuggestInvoices"]["summary"] == "Suggest invoices for a payment line"
    assert ops["ListCustomers"]["summary"] == "Find customers"
    assert ops["ListOpenSalesInvoices"]["summary"] == "Find open sales invoices"
    for lookup in ("ListCustomers", "ListOpenSalesInvoices"):
        assert ops[lookup]["x-ms-pageable"] == {"nextLinkName": "nextLink"}


def test_update_needs_the_etag_labelled_as_such(doc: dict[str, Any]) -> None:
    update = operations(doc)["UpdateCustomerPayment"]
    etag = param(update, "If-Match")
    assert etag["required"] is True
    assert etag["x-ms-summary"] == "ETag"
    assert "*" in etag["description"]
    assert "overwrite" in etag["description"]
    assert "default" not in etag
    body = param(update, "body")
    # The patch model, with dropdowns on its customer and invoice.
    assert body["schema"] == {"$ref": "#/definitions/CustomerPaymentChangesV2"}
    plain = doc["definitions"]["PaymentPatchV2"]["properties"]
    changes = doc["definitions"]["CustomerPaymentChangesV2"]["properties"]
    assert set(changes) == set(plain)
    for name, prop in changes.items():
        rules = {k: v for k, v in prop.items() if not k.startswith("x-ms-dynamic")}
        assert rules == plain[name]
    assert update["responses"]["200"]["headers"]["ETag"]["x-ms-summary"] == "ETag"


def definition(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema["$ref"]
    assert ref.startswith("#/definitions/")
    found: dict[str, Any] = doc["definitions"][ref.removeprefix("#/definitions/")]
    return found


def test_bulk_start_takes_the_journal_from_dropdowns_and_the_updates_with_their_rules(
    doc: dict[str, Any],
) -> None:
    start = operations(doc)["StartBulkPaymentUpdate"]
    assert doc["paths"][BULK]["post"] is start
    update = operations(doc)["UpdateCustomerPayment"]
    for name in ("companyId", "journalId"):
        assert (
            param(start, name)["x-ms-dynamic-values"] == param(update, name)["x-ms-dynamic-values"]
        )
        assert param(start, name)["x-ms-url-encoding"] == "single"
    key = param(start, "Idempotency-Key")
    assert (key["in"], key["required"], key["x-ms-visibility"]) == ("header", False, "advanced")
    assert (key["minLength"], key["maxLength"]) == (1, 255)
    validate_only = param(start, "validateOnly")
    assert (validate_only["in"], validate_only["type"], validate_only["required"]) == (
        "query",
        "boolean",
        False,
    )
    assert validate_only["x-ms-visibility"] == "advanced"
    body = param(start, "body")
    assert (body["required"], body["x-ms-summary"]) == (True, "Updates")
    request = definition(doc, body["schema"])
    assert request["required"] == ["updates"]
    updates = request["properties"]["updates"]
    assert (updates["type"], updates["minItems"]) == ("array", 1)
    item = definition(doc, updates["items"])
    assert item["additionalProperties"] is False
    assert set(item["properties"]) == {"id", "ifMatch", "changes", "clientRef"}
    assert set(item["required"]) == {"id", "ifMatch", "changes"}
    props = item["properties"]
    assert (props["id"]["format"], props["id"]["pattern"]) == ("uuid", GUID_PATTERN)
    assert (props["ifMatch"]["x-ms-summary"], props["ifMatch"]["pattern"]) == (
        "ETag",
        IF_MATCH_PATTERN,
    )
    # The changes have every rule of the update action's body, which adds only its dropdowns.
    assert props["changes"]["$ref"] == "#/definitions/PaymentPatchV2"
    body = definition(doc, param(update, "body")["schema"])
    rules = {
        name: {key: value for key, value in prop.items() if not key.startswith("x-ms-dynamic")}
        for name, prop in body["properties"].items()
    }
    assert rules == definition(doc, props["changes"])["properties"]
    assert props["clientRef"]["maxLength"] == MAX_CLIENT_REF
    assert all(prop["x-ms-summary"] for prop in props.values())


BULK_RESULT = {"jobId", "status", "total", "counts", "items"}
ITEM_RESULT = {
    "id",
    "clientRef",
    "outcome",
    "status",
    "etag",
    "line",
    "problem",
    "applicationCheck",  # for an update that names a customer or an invoice
}


def test_bulk_start_is_asynchronous_and_outputs_the_finished_job(doc: dict[str, Any]) -> None:
    responses = operations(doc)["StartBulkPaymentUpdate"]["responses"]
    assert set(responses) == {"200", "202", "default"}
    accepted = responses["202"]
    assert set(accepted["headers"]) == {"Location", "Retry-After"}
    assert accepted["headers"]["Retry-After"]["type"] == "integer"
    assert all(h["x-ms-summary"] for h in accepted["headers"].values())
    # The designer polls a 202 and outputs the final answer: the 202 offers no outputs.
    assert "schema" not in accepted
    assert "BulkJobAccepted" not in doc["definitions"]
    # What the designer outputs once Location answers 200: later steps use the items.
    result = definition(doc, responses["200"]["schema"])
    assert set(result["properties"]) >= BULK_RESULT
    assert "valid" in result["properties"]  # what validateOnly=true answers at once
    assert result["properties"]["status"]["enum"] == ["Completed", "CompletedWithErrors", "Failed"]
    counts = definition(doc, result["properties"]["counts"])
    assert set(counts["properties"]) == {"updated", "failed", "unknown"}
    item = definition(doc, result["properties"]["items"]["items"])
    assert set(item["properties"]) == ITEM_RESULT
    assert item["properties"]["outcome"]["enum"] == ["updated", "failed", "unknown"]
    assert item["properties"]["etag"]["x-ms-summary"] == "ETag"


def test_bulk_status_takes_the_job_and_its_token_and_answers_202_while_running(
    doc: dict[str, Any],
) -> None:
    status = operations(doc)["GetBulkPaymentUpdateStatus"]
    job = param(status, "jobId")
    assert (job["in"], job["required"], job["x-ms-url-encoding"]) == ("path", True, "single")
    token = param(status, "token")
    assert (token["in"], token["required"]) == ("query", True)
    assert "statusUrl" in token["description"]
    responses = status["responses"]
    assert set(responses) == {"200", "202", "default"}
    assert set(responses["202"]["headers"]) == {"Location", "Retry-After"}
    done = definition(doc, responses["200"]["schema"])
    assert set(done["properties"]) >= BULK_RESULT
    assert "schema" not in responses["202"]


def test_dropdowns_come_from_the_list_operations(doc: dict[str, Any]) -> None:
    get = operations(doc)["GetCustomerPayment"]
    expected = {
        "companyId": ("ListCompanies", {}),
        "journalId": ("ListCustomerPaymentJournals", {"companyId": {"parameter": "companyId"}}),
        "paymentId": (
            "FindCustomerPayments",
            {
                "companyId": {"parameter": "companyId"},
                "journalId": {"parameter": "journalId"},
                # The maker's filter beside the dropdown reaches lines past the first page.
                "documentNumber": {"parameter": "lineDocumentNumber"},
            },
        ),
    }
    for name, (target, passed) in expected.items():
        values = param(get, name)["x-ms-dynamic-values"]
        assert (values["operationId"], values.get("parameters", {})) == (target, passed)
        assert param(get, name)["x-ms-dynamic-list"]["operationId"] == target
        assert param(get, name)["x-ms-url-encoding"] == "single"
    # The line dropdown names each line by document number, customer and amount.
    lines = param(get, "paymentId")
    assert lines["x-ms-dynamic-values"]["value-title"] == "title"
    assert lines["x-ms-dynamic-list"]["itemTitlePath"] == "title"
    assert lines["x-ms-dynamic-list"]["parameters"]["documentNumber"] == {
        "parameterReference": "lineDocumentNumber"
    }
    for operation_id in ("GetCustomerPayment", "UpdateCustomerPayment", "ValidateCustomerPayment"):
        feed = param(operations(doc)[operation_id], "lineDocumentNumber")
        assert (feed["in"], feed["required"], feed["x-ms-summary"]) == (
            "query",
            False,
            "Find Line by Document Number",
        )
    found = operations(doc)["FindCustomerPayments"]["responses"]["200"]["schema"]
    item = definition(doc, definition(doc, found)["properties"]["value"]["items"])
    assert item["properties"]["title"]["type"] == "string"
    # A list does not offer itself: the journal list's company comes from ListCompanies.
    journals = operations(doc)["ListCustomerPaymentJournals"]
    assert param(journals, "companyId")["x-ms-dynamic-values"]["operationId"] == "ListCompanies"


def test_the_customer_and_invoice_of_an_update_come_from_dropdowns(doc: dict[str, Any]) -> None:
    changes = doc["definitions"]["CustomerPaymentChangesV2"]["properties"]
    company = {"companyId": {"parameter": "companyId"}}
    expected = {
        "customerId": ("ListCustomers", "id", company),
        "customerNumber": ("ListCustomers", "number", company),
        # The invoice dropdowns list the open invoices of the customer chosen above them.
        "appliesToInvoiceId": (
            "ListOpenSalesInvoices",
            "id",
            {
                **company,
                "customerId": {"parameter": "customerId"},
                "customerNumber": {"parameter": "customerNumber"},
            },
        ),
    }
    for name, (target, value, passed) in expected.items():
        values = changes[name]["x-ms-dynamic-values"]
        assert (values["operationId"], values["value-path"], values["parameters"]) == (
            target,
            value,
            passed,
        )
        assert values["value-title"] == "title"
    listed = changes["appliesToInvoiceNumber"]["x-ms-dynamic-list"]
    assert listed["parameters"]["customerId"] == {"parameterReference": "body/customerId"}
    assert listed["parameters"]["companyId"] == {"parameterReference": "companyId"}
    # Labelled with number, date and remaining amount (the lookup's title).
    found = operations(doc)["ListOpenSalesInvoices"]["responses"]["200"]["schema"]
    item = definition(doc, definition(doc, found)["properties"]["value"]["items"])
    assert "remaining amount" in item["properties"]["title"]["description"]
    for operation_id in ("UpdateCustomerPayment", "ValidateCustomerPayment"):
        body = param(operations(doc)[operation_id], "body")
        assert body["schema"] == {"$ref": "#/definitions/CustomerPaymentChangesV2"}
    # A bulk update's changes keep the plain model.
    bulk_item = doc["definitions"]["BulkPaymentUpdateV2"]["properties"]["changes"]
    assert bulk_item["$ref"] == "#/definitions/PaymentPatchV2"
    # The invoice lookup action offers the customer as a dropdown too.
    invoices = operations(doc)["ListOpenSalesInvoices"]
    assert param(invoices, "customerId")["x-ms-dynamic-values"]["operationId"] == "ListCustomers"


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
    assert (amount["type"], amount["x-fraction-digits"]) == ("number", 2)
    # No format: the Power Platform has no "decimal", and "double" would invite rounding.
    assert "format" not in amount
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
        assert filtered["x-code-max-length"] == patch[name]["x-code-max-length"]
        assert "maxLength" not in filtered
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
            {"206": {"description": "x", "schema": {"type": "object"}}}
        ),
        "200 or 201",
    ),
    (
        "202 without Location",
        lambda d: d["paths"][BULK]["post"]["responses"]["202"]["headers"].pop("Location"),
        "needs a Location header",
    ),
    (
        "202 without the 200 polling ends with",
        lambda d: d["paths"][BULK]["post"]["responses"].pop("200"),
        "no 200 ends the polling",
    ),
    (
        "202 with outputs",
        lambda d: d["paths"][BULK]["post"]["responses"]["202"].update(
            schema={"$ref": "#/definitions/BulkJobResult"}
        ),
        "response 202 carries no schema",
    ),
    (
        "202 header label",
        lambda d: d["paths"][BULK]["post"]["responses"]["202"]["headers"]["Retry-After"].pop(
            "x-ms-summary"
        ),
        "header Retry-After: no x-ms-summary",
    ),
    (
        "const",
        lambda d: d["definitions"]["BulkJobResult"]["properties"]["status"].update(
            const="Completed"
        ),
        "const is not Swagger 2.0",
    ),
    (
        "bulk item label",
        lambda d: d["definitions"]["BulkItemResult"]["properties"]["outcome"].pop("x-ms-summary"),
        "outcome: no x-ms-summary",
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
    (
        "body dropdown target",
        lambda d: d["definitions"]["CustomerPaymentChangesV2"]["properties"]["customerId"][
            "x-ms-dynamic-values"
        ].update(operationId="Nope"),
        "names no operation",
    ),
    (
        "body dropdown parameter",
        lambda d: d["definitions"]["CustomerPaymentChangesV2"]["properties"]["appliesToInvoiceId"][
            "x-ms-dynamic-list"
        ]["parameters"].update({"nope": {"parameterReference": "x"}}),
        "passes nope",
    ),
    (
        "body dropdown reference",
        lambda d: d["definitions"]["CustomerPaymentChangesV2"]["properties"]["appliesToInvoiceId"][
            "x-ms-dynamic-list"
        ]["parameters"].update({"customerId": {"parameterReference": "body/nope"}}),
        "refers to body/nope",
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
    (
        "decimal format",
        lambda d: d["definitions"]["PaymentPatchV2"]["properties"]["amount"].update(
            format="decimal"
        ),
        "amount/format: 'decimal' is not one of",
    ),
    (
        "unknown x-ms extension",
        lambda d: d["paths"][PAYMENT]["get"].update({"x-ms-labels": "x"}),
        "'x-ms-labels' does not match",
    ),
    (
        "property Swagger 2.0 lacks",
        lambda d: d["definitions"]["Company"]["properties"]["id"].update(nullable=True),
        "'nullable' does not match",
    ),
    (
        "parameter format",
        lambda d: param(d["paths"][PAYMENT]["get"], "companyId").update(format="guid"),
        "companyId",
    ),
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
