"""Generate the Power Platform custom connector from the route table and the
payment models (never edit the files it writes).

    .venv/bin/python -m scripts.connector                # connector/ (function key)
    .venv/bin/python -m scripts.connector --auth entra   # connector/entra/ (Microsoft Entra ID)
    .venv/bin/python -m scripts.connector --check        # exit 1 if the committed files are stale

(``make connector`` writes both variants and lints them; it also creates ``.venv``.)

Writes ``apiDefinition.swagger.json`` (Swagger 2.0, the only version the
Power Platform accepts), ``apiProperties.json``, ``readme.md`` and
``icon.png``. Output is byte-stable: the same code writes the same bytes.

The connector offers API v2.0 only: every property a maker can change exists
there, and one action per API version would double every action and dropdown
in the designer for no gain (v1.0 adds only ``contactId``).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from shared.api.labels import property_label
from shared.api.openapi import model_schemas, parameter_schema, schema_generator
from shared.api.routes import BULK_REQUESTS, OPERATIONS
from shared.api.schemas import response_model
from shared.api.spec import Lookup, Operation, Parameter
from shared.payment.fields import ApiVersion
from shared.payment.models import PATCH_MODELS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "connector"
VERSION: ApiVersion = "v2.0"
REF = "#/definitions/{model}"
AMOUNT_DECIMALS = 2  # the AMOUNT_DECIMALS default; regenerate with --amount-decimals to change
DEFAULT_HOST = "your-function-app.azurewebsites.net"
BRAND_COLOR = "#1f6e43"
TITLE = "BC Customer Payments"
DESCRIPTION = (
    "Find, check and update customer payment journal lines in Dynamics 365 Business "
    "Central through the payments proxy, without a Business Central license or token in "
    "the flow. Every change is checked against Business Central's rules first and needs "
    "the line's ETag, so no one else's change is ever overwritten."
)
PROBLEM_DESCRIPTION = (
    "A problem (RFC 9457, sent as plain JSON): status, title, detail, requestId; errors "
    "for invalid properties; upstream when Business Central answered. 412 etag-mismatch: "
    "read the line again and retry with its new ETag. 409 outcome-unknown: current holds "
    "the line as it is now. 429/503: retried by the flow's retry policy after Retry-After."
)
Auth = Literal["key", "entra"]


def connector_id(operation_id: str) -> str:
    return operation_id[:1].upper() + operation_id[1:]


# --- schemas -------------------------------------------------------------------------------


def _labelled(schema: Any) -> Any:
    """A copy of ``schema`` with ``x-ms-summary`` on every property, however deep."""
    if isinstance(schema, list):
        return [_labelled(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _labelled(value) for key, value in schema.items()}
    properties = out.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            name: {**prop, "x-ms-summary": property_label(name)}
            for name, prop in properties.items()
        }
    return out


def definitions(amount_decimals: int) -> dict[str, Any]:
    models: list[type[BaseModel]] = [PATCH_MODELS[VERSION]]
    for op in _operations():
        if op.body == "bulk":
            models.append(BULK_REQUESTS[VERSION])
        # An asynchronous start's own answer is a 202, which declares no schema.
        kinds = (op.result,) if op.success_status == 202 else (op.response, op.result)
        for kind in kinds:
            model = response_model(kind, VERSION) if kind else None
            if model is not None:
                models.append(model)
    generator = schema_generator(amount_decimals, "swagger-2.0")
    schemas = model_schemas(models, generator, REF)
    if any(op.body_lookups for op in _operations()):
        schemas[CHANGES_WITH_LOOKUPS] = _with_body_lookups(schemas[PATCH_MODELS[VERSION].__name__])
    return {name: _labelled(schema) for name, schema in sorted(schemas.items())}


# --- operations ----------------------------------------------------------------------------


def _operations() -> Iterator[Operation]:
    return (op for op in OPERATIONS if op.in_connector)


def _lookup(lookup: Lookup) -> dict[str, Any]:
    """A dropdown's two spellings: ``x-ms-dynamic-values`` names what feeds the
    list by parameter name, ``x-ms-dynamic-list`` by reference (``body/...``
    for a property of the same body)."""
    target = connector_id(lookup.operation_id)
    values: dict[str, Any] = {"operationId": target}
    items: dict[str, Any] = {"operationId": target}
    passed = [(name, name) for name in lookup.parameters] + list(lookup.filters)
    from_body = list(lookup.body_filters)
    if passed or from_body:
        values["parameters"] = {name: {"parameter": own} for name, own in [*passed, *from_body]}
        items["parameters"] = {
            **{name: {"parameterReference": own} for name, own in passed},
            **{name: {"parameterReference": f"body/{own}"} for name, own in from_body},
        }
    values.update(
        {"value-collection": "value", "value-path": lookup.value_path}
        | {"value-title": lookup.title_path}
    )
    items.update(
        {"itemsPath": "value", "itemValuePath": lookup.value_path}
        | {"itemTitlePath": lookup.title_path}
    )
    return {"x-ms-dynamic-values": values, "x-ms-dynamic-list": items}


def _parameter(parameter: Parameter, own_id: str, schemas: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": parameter.name,
        "in": parameter.location,
        "required": parameter.required,
        **parameter_schema(parameter, VERSION, schemas),
        "description": parameter.connector_description or parameter.description,
        "x-ms-summary": parameter.label,
    }
    if parameter.visibility is not None:
        out["x-ms-visibility"] = parameter.visibility
    if parameter.location == "path":
        out["x-ms-url-encoding"] = "single"
    # A list never offers itself as its own dropdown.
    if parameter.lookup is not None and parameter.lookup.operation_id != own_id:
        out.update(_lookup(parameter.lookup))
    return out


_BODIES = {
    "patch": ("Changes", "The properties to change; leave out the ones to keep."),
    "bulk": (
        "Updates",
        "The updates, each line once: its id, its ETag, the properties to change (the same "
        "rules as an update of one line) and an optional reference of yours.",
    ),
}
RUNNING_DESCRIPTION = "The job is running: its progress; poll Location again after Retry-After"


# The update's body in the connector: the patch model with dropdowns on its
# customer and invoice (a bulk update's changes keep the plain model).
CHANGES_WITH_LOOKUPS = "CustomerPaymentChangesV2"


def _body_model(op: Operation) -> str:
    if op.body == "patch" and op.body_lookups:
        return CHANGES_WITH_LOOKUPS
    return (PATCH_MODELS if op.body == "patch" else BULK_REQUESTS)[VERSION].__name__


def _with_body_lookups(schema: dict[str, Any]) -> dict[str, Any]:
    lookups = next((op.body_lookups for op in _operations() if op.body_lookups), ())
    properties = dict(schema["properties"])
    for name, lookup in lookups:
        properties[name] = {**properties[name], **_lookup(lookup)}
    return {**schema, "title": CHANGES_WITH_LOOKUPS, "properties": properties}


def _ref(kind: Any) -> dict[str, str]:
    model = response_model(kind, VERSION)
    assert model is not None
    return {"$ref": REF.format(model=model.__name__)}


def _polling_headers() -> dict[str, Any]:
    """A 202's headers: the designer polls Location (which carries its own token)
    after Retry-After seconds, until an answer other than 202."""
    return {
        "Location": {
            "type": "string",
            "description": "Where the job's progress and results are; its token is the "
            "credential, no key needed.",
            "x-ms-summary": "Status URL",
        },
        "Retry-After": {
            "type": "integer",
            "description": "Seconds to wait before asking Location again.",
            "x-ms-summary": "Retry After",
        },
    }


def _responses(op: Operation) -> dict[str, Any]:
    """200 is what the action outputs; an asynchronous start answers 202
    first, and the designer polls its Location until the 200. A 202 declares
    headers only: the designer outputs the final answer, so a schema on the
    202 would offer makers outputs that never arrive."""
    ok: dict[str, Any] = {"description": op.response_description, "schema": _ref(op.response)}
    if op.etag_header:
        ok["headers"] = {
            "ETag": {
                "type": "string",
                "description": "The line's new ETag: send it as ETag to update it again.",
                "x-ms-summary": "ETag",
            }
        }
    responses: dict[str, Any] = {}
    if op.success_status == 202:
        assert op.result is not None, f"{op.operation_id}: a 202 needs the result polling ends with"
        responses["200"] = {"description": op.result_description, "schema": _ref(op.result)}
        responses["202"] = {
            "description": op.response_description,
            "headers": _polling_headers(),
        }
    else:
        responses["200"] = ok
        if op.running_answer:
            responses["202"] = {"description": RUNNING_DESCRIPTION, "headers": _polling_headers()}
    responses["default"] = {"description": PROBLEM_DESCRIPTION}
    return responses


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters = [_parameter(p, op.operation_id, schemas) for p in op.parameters]
    if op.body is not None:
        summary, description = _BODIES[op.body]
        parameters.append(
            {
                "name": "body",
                "in": "body",
                "required": True,
                "description": description,
                "x-ms-summary": summary,
                "schema": {"$ref": REF.format(model=_body_model(op))},
            }
        )
    out: dict[str, Any] = {
        "operationId": connector_id(op.operation_id),
        "summary": op.summary,
        "description": op.description,
    }
    if op.visibility is not None:
        out["x-ms-visibility"] = op.visibility
    if op.pageable:
        out["x-ms-pageable"] = {"nextLinkName": "nextLink"}
    out["parameters"] = parameters
    out["responses"] = _responses(op)
    return out


def _security(auth: Auth) -> tuple[dict[str, Any], list[dict[str, list[str]]]]:
    if auth == "key":
        return (
            {"api_key": {"type": "apiKey", "in": "header", "name": "x-functions-key"}},
            [{"api_key": []}],
        )
    return (
        {
            "oauth2_auth": {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": "https://login.microsoftonline.com/common/oauth2/authorize",
                "tokenUrl": "https://login.windows.net/common/oauth2/authorize",
                "scopes": {},
            }
        },
        [{"oauth2_auth": []}],
    )


def swagger(
    auth: Auth = "key", host: str = DEFAULT_HOST, amount_decimals: int = AMOUNT_DECIMALS
) -> dict[str, Any]:
    schemas = definitions(amount_decimals)
    paths: dict[str, Any] = {}
    for op in _operations():
        paths.setdefault(op.path_for(VERSION), {})[op.method.lower()] = _operation(op, schemas)
    security_definitions, security = _security(auth)
    return {
        "swagger": "2.0",
        "info": {"title": TITLE, "description": DESCRIPTION, "version": "1.0.0"},
        "host": host,
        "basePath": "/api",
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": schemas,
        "parameters": {},
        "responses": {},
        "securityDefinitions": security_definitions,
        "security": security,
        "tags": [],
    }


# --- apiProperties.json ----------------------------------------------------------------------

# The named host key a connection holds, as docs/deploy.md creates it and
# docs/power-automate.md asks for it (a test keeps the three in step). Letters
# only: az's --query reads functionKeys.<name> without quoting.
HOST_KEY_NAME = "powerautomate"
KEY_LABEL = "Host key"
CLIENT_ID_PLACEHOLDER = "<client id of the connector's app registration>"
RESOURCE_PLACEHOLDER = "<Application ID URI of the function app's API registration>"
TENANT_PLACEHOLDER = "<tenant id>"


def api_properties(
    auth: Auth = "key",
    *,
    client_id: str = CLIENT_ID_PLACEHOLDER,
    resource_uri: str = RESOURCE_PLACEHOLDER,
    tenant_id: str = TENANT_PLACEHOLDER,
) -> dict[str, Any]:
    host = {
        "type": "string",
        "uiDefinition": {
            "displayName": "Function app host name",
            "description": "Host name of the payments proxy, such as "
            "contoso-payments.azurewebsites.net (no https://, no /api)",
            "tooltip": "The function app's default domain, from its Overview page in the "
            "Azure portal",
            "constraints": {"tabIndex": 1, "clearText": True, "required": "true"},
        },
    }
    credential: dict[str, Any]
    if auth == "key":
        name = "api_key"
        credential = {
            "type": "securestring",
            "uiDefinition": {
                "displayName": KEY_LABEL,
                "description": "The value of a host key of the payments proxy kept for this "
                f"connection, such as {HOST_KEY_NAME} (sent as x-functions-key); never default "
                "or the master key",
                "tooltip": "Azure portal: the function app, Functions, App keys, Host keys; "
                f"or az functionapp keys list --query functionKeys.{HOST_KEY_NAME}",
                "constraints": {"tabIndex": 2, "clearText": False, "required": "true"},
            },
        }
    else:
        name = "token"
        credential = {
            "type": "oauthSetting",
            "oAuthSettings": {
                "identityProvider": "aad",
                "clientId": client_id,
                "scopes": [],
                "redirectMode": "GlobalPerConnector",
                "redirectUrl": "https://global.consent.azure-apim.net/redirect",
                "properties": {
                    "IsFirstParty": "False",
                    "AzureActiveDirectoryResourceId": resource_uri,
                },
                "customParameters": {
                    "loginUri": {"value": "https://login.microsoftonline.com"},
                    "tenantId": {"value": tenant_id},
                    "resourceUri": {"value": resource_uri},
                },
            },
        }
    return {
        "properties": {
            "connectionParameters": {"hostName": host, name: credential},
            "iconBrandColor": BRAND_COLOR,
            "capabilities": [],
            "policyTemplateInstances": [
                {
                    "templateId": "dynamichosturl",
                    "title": "Send to the connection's function app",
                    "parameters": {
                        "x-ms-apimTemplateParameter.urlTemplate": (
                            "https://@connectionParameters('hostName')/api"
                        )
                    },
                }
            ],
            "publisher": "Finance systems team",
            "stackOwner": "Finance systems team",
        }
    }


# --- readme.md and icon.png -------------------------------------------------------------------


def _summary(operation_id: str) -> str:
    return next(op.summary for op in _operations() if op.operation_id == operation_id)


def readme() -> str:
    rows = "\n".join(
        f"| `{connector_id(op.operation_id)}` | {op.summary} | {op.visibility or 'none'} |"
        for op in _operations()
    )
    return f"""# {TITLE}

{DESCRIPTION}

Generated by `make connector` from the proxy's route table and payment
models: do not edit these files, regenerate them.

## Prerequisites

* The payments proxy deployed to an Azure function app (see `docs/deploy.md`).
* A host key of the app of its own for the connection, such as
  `{HOST_KEY_NAME}` (`CALLER_AUTH=key`, the default), or for
  `CALLER_AUTH=entra` the files in `entra/` with an app registration for the
  connector (see `docs/power-automate.md`).

## Operations

API v2.0 of Business Central. `internal` operations feed dropdowns only.

| operation | action | visibility |
|---|---|---|
{rows}

Updates need the line's **ETag** (the `etag` of a read or a search); the
answer to an update carries the new one. The Payment Line dropdown names each
line by document number, customer number and amount; to reach a line beyond
the first 100, fill in **Find Line by Document Number** first. Amounts are exact decimals with at
most {AMOUNT_DECIMALS} fraction digits.

**{_summary("startBulkPaymentUpdate")}** is an asynchronous action: the
proxy checks every update, answers `202 Accepted` with a `Location` that
carries the job's own token, and the flow polls it (after `Retry-After`)
until the job is done. The action's outputs are then the finished job:
`counts` and `items`, one per update in the order sent, each with its
`outcome`, `status`, `etag` and `line` or `problem`. Keep the action's
*Asynchronous pattern* setting on (the default). **{_summary("getBulkPaymentUpdateStatus")}**
asks for a job's progress or results by its id and token, for flows that
turn that setting off.

## Errors

Failed actions carry a problem document (`status`, `title`, `detail`,
`requestId`, and `errors` for invalid properties). The connector asks for
plain JSON (`Accept: application/json`), so a flow can read it with
`outputs('<action>')['body']`.

## Import

`paconn create --api-def apiDefinition.swagger.json --api-prop apiProperties.json
--icon icon.png`, or import `apiDefinition.swagger.json` in the maker portal
(Custom connectors, New custom connector, Import an OpenAPI file). Step by
step, with a worked flow: `docs/power-automate.md`.
"""


def icon_png(size: int = 230) -> bytes:
    """A plain icon: a white ledger sheet with three lines on the brand colour."""
    brand = bytes(int(BRAND_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    white, ink = b"\xff\xff\xff", brand
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter type: none
        for x in range(size):
            inside = 60 <= x < 170 and 40 <= y < 190
            ruled = inside and 80 <= x < 150 and any(r <= y < r + 8 for r in (75, 110, 145))
            row += ink if ruled else white if inside else brand
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


# --- writing ----------------------------------------------------------------------------------


def dump(data: Any) -> bytes:
    # Four spaces: the Power Platform connectors' coding standard.
    return (json.dumps(data, indent=4, ensure_ascii=False) + "\n").encode()


def files(auth: Auth = "key", **options: Any) -> dict[Path, bytes]:
    """Every file of one variant, by path: the same arguments, the same bytes."""
    host = options.pop("host", DEFAULT_HOST)
    decimals = options.pop("amount_decimals", AMOUNT_DECIMALS)
    target = OUT if auth == "key" else OUT / "entra"
    out = {
        target / "apiDefinition.swagger.json": dump(swagger(auth, host, decimals)),
        target / "apiProperties.json": dump(api_properties(auth, **options)),
    }
    # Both variants are imported with an icon (paconn --icon, the portal's General tab).
    out[target / "icon.png"] = icon_png()
    if auth == "key":
        out[target / "readme.md"] = readme().encode()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auth", choices=("key", "entra"), default="key")
    parser.add_argument("--host", default=DEFAULT_HOST, help="the function app's host name")
    parser.add_argument("--amount-decimals", type=int, default=AMOUNT_DECIMALS)
    parser.add_argument("--client-id", default=CLIENT_ID_PLACEHOLDER, help="Entra only")
    parser.add_argument("--resource-uri", default=RESOURCE_PLACEHOLDER, help="Entra only")
    parser.add_argument("--tenant-id", default=TENANT_PLACEHOLDER, help="Entra only")
    parser.add_argument("--check", action="store_true", help="exit 1 if files are stale")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {"host": args.host, "amount_decimals": args.amount_decimals}
    if args.auth == "entra":
        options.update(
            client_id=args.client_id, resource_uri=args.resource_uri, tenant_id=args.tenant_id
        )
    stale = []
    for path, content in files(args.auth, **options).items():
        if args.check:
            if not path.exists() or path.read_bytes() != content:
                stale.append(path.relative_to(ROOT))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"wrote {path.relative_to(ROOT)}")  # noqa: T201 - this command's output
    if stale:
        print("stale: " + ", ".join(map(str, stale)) + "; run make connector")  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
