"""The Functions adapter: binding metadata, and real HttpRequest objects sent
through the registered functions (the host itself cannot run here)."""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Iterator
from types import ModuleType

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger

import function_app
from tests.support.fakes import (
    BASE_ENV,
    COMPANY,
    ETAG,
    JOURNAL,
    PAYMENT,
    FakeBusinessCentral,
    fresh_python,
)
from tests.support.functions import functions, trigger

PAYMENT_URL = (
    f"http://localhost/api/v2.0/companies/{COMPANY}/customerPaymentJournals/{JOURNAL}"
    f"/customerPayments/{PAYMENT}"
)


def test_routes_methods_and_auth_levels() -> None:
    found = functions(function_app)
    assert set(found) == {
        "openapi",
        "problems",
        "health",
        "not_found",
        "bulk_status",
        "bulk_payment_updates",
        "bulk_send_batch",
        "bulk_settle_items",
        *PROTECTED,
    }
    payment = trigger(found["payment"])
    assert payment.route == (
        "{apiVersion}/companies/{companyId}/{journalSet}/{journalId}/customerPayments/{paymentId}"
    )
    assert sorted(str(m.value) for m in payment.methods) == ["GET", "PATCH"]
    assert payment.auth_level == func.AuthLevel.FUNCTION
    for name, route in (("openapi", "openapi.json"), ("health", "health")):
        assert trigger(found[name]).route == route
        assert trigger(found[name]).auth_level == func.AuthLevel.ANONYMOUS
        assert [str(m.value) for m in trigger(found[name]).methods] == ["GET"]
    assert trigger(found["not_found"]).route == "{*path}"
    assert trigger(found["not_found"]).auth_level == func.AuthLevel.ANONYMOUS


def test_bulk_routes_start_protected_status_anonymous_with_durable_clients() -> None:
    found = functions(function_app)
    start, status = trigger(found["bulk_start"]), trigger(found["bulk_status"])
    assert start.route == (
        "{apiVersion}/companies/{companyId}/{journalSet}/{journalId}/bulkPaymentUpdates"
    )
    assert [str(m.value) for m in start.methods] == ["POST"]
    assert start.auth_level == func.AuthLevel.FUNCTION
    assert status.route == "bulkPaymentUpdates/{jobId}"
    assert [str(m.value) for m in status.methods] == ["GET"]
    assert status.auth_level == func.AuthLevel.ANONYMOUS
    for name in ("bulk_start", "bulk_status"):
        kinds = [b.type for b in found[name].get_bindings()]
        assert "durableClient" in kinds, name
    assert type(trigger(found["bulk_payment_updates"])).__name__ == "OrchestrationTrigger"
    for name in ("bulk_send_batch", "bulk_settle_items"):
        assert type(trigger(found[name])).__name__ == "ActivityTrigger"


def test_entra_mode_protects_bulk_start_like_the_payment_routes(entra_app: ModuleType) -> None:
    found = functions(entra_app)
    assert trigger(found["bulk_start"]).auth_level == func.AuthLevel.ANONYMOUS
    assert trigger(found["bulk_status"]).auth_level == func.AuthLevel.ANONYMOUS


PROTECTED = {
    "payment",
    "validate_payment",
    "list_companies",
    "list_journals",
    "list_payments",
    "list_customers",
    "list_open_invoices",
    "suggest_invoices",
    "bulk_start",
}


def test_lists_and_validate_are_protected_like_the_payment_route() -> None:
    found = functions(function_app)
    routes = {name: trigger(found[name]) for name in PROTECTED}
    assert {name: t.auth_level for name, t in routes.items()} == dict.fromkeys(
        PROTECTED, func.AuthLevel.FUNCTION
    )
    payment_route = routes["payment"].route
    assert routes["validate_payment"].route == payment_route + "/validate"
    assert [str(m.value) for m in routes["validate_payment"].methods] == ["POST"]
    assert routes["list_payments"].route == payment_route.removesuffix("/{paymentId}")
    assert routes["list_companies"].route == "{apiVersion}/companies"
    for name in PROTECTED - {"payment", "validate_payment", "bulk_start"}:
        assert [str(m.value) for m in routes[name].methods] == ["GET"]
    assert routes["suggest_invoices"].route == payment_route + "/suggestedInvoices"
    assert routes["list_customers"].route == "{apiVersion}/companies/{companyId}/customers"
    assert routes["list_open_invoices"].route == (
        "{apiVersion}/companies/{companyId}/openSalesInvoices"
    )


def test_function_json_has_the_function_auth_level() -> None:
    bindings = json.loads(functions(function_app)["payment"].get_function_json())["bindings"]
    http_in = next(b for b in bindings if b["type"] == "httpTrigger")
    assert http_in["authLevel"] == "FUNCTION"


@pytest.fixture
def entra_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("CALLER_AUTH", "entra")
    module = importlib.reload(function_app)
    yield module
    monkeypatch.delenv("CALLER_AUTH")
    importlib.reload(function_app)


def test_entra_mode_makes_payment_routes_anonymous(entra_app: ModuleType) -> None:
    for name in PROTECTED:
        assert trigger(functions(entra_app)[name]).auth_level == func.AuthLevel.ANONYMOUS


async def call(name: str, request: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = await functions(function_app)[name].get_user_function()(request)
    return response


async def test_patch_through_the_registered_function(bc: FakeBusinessCentral) -> None:
    request = func.HttpRequest(
        "PATCH",
        PAYMENT_URL,
        headers={"Content-Type": "application/json", "If-Match": ETAG, "X-Request-Id": "abc"},
        route_params={
            "apiVersion": "v2.0",
            "companyId": COMPANY,
            "journalSet": "customerPaymentJournals",
            "journalId": JOURNAL,
            "paymentId": PAYMENT,
        },
        body=b'{"amount": 10.10}',
    )
    response = await call("payment", request)
    assert response.status_code == 200
    assert response.headers["ETag"]
    assert response.headers["x-request-id"] == "abc"
    assert bc.last.content == b'{"amount":10.10}'
    assert bc.last.headers["if-match"] == ETAG


async def test_bad_version_through_the_registered_function(bc: FakeBusinessCentral) -> None:
    request = func.HttpRequest(
        "GET",
        "http://localhost/api/v9/companies/x",
        route_params={
            "apiVersion": "v9",
            "companyId": "x",
            "journalSet": "customerPaymentJournals",
            "journalId": "y",
            "paymentId": "z",
        },
        body=b"",
    )
    response = await call("payment", request)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json" or response.headers[
        "Content-Type"
    ].startswith("application/problem+json")
    assert bc.requests == []


async def test_health_makes_no_upstream_call(bc: FakeBusinessCentral) -> None:
    response = await call(
        "health", func.HttpRequest("GET", "http://localhost/api/health", body=b"")
    )
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"status": "ok"}
    assert bc.requests == []


async def test_openapi_is_served(env: dict[str, str]) -> None:
    response = await call(
        "openapi", func.HttpRequest("GET", "http://localhost/api/openapi.json", body=b"")
    )
    document = json.loads(response.get_body())
    assert response.status_code == 200
    assert document["openapi"].startswith("3.1")


async def test_unknown_route_is_a_not_found_problem(env: dict[str, str]) -> None:
    response = await call(
        "not_found",
        func.HttpRequest(
            "DELETE", "http://localhost/api/nothing", route_params={"path": "nothing"}, body=b""
        ),
    )
    body = json.loads(response.get_body())
    assert response.status_code == 404
    assert body["type"].endswith("#not-found")


async def test_every_answer_exposes_the_headers_a_browser_page_reads(
    bc: FakeBusinessCentral,
) -> None:
    # Azure's platform CORS sets no Access-Control-Expose-Headers: without this a
    # cross-origin page could not read the ETag it must send back as If-Match.
    route = {
        "apiVersion": "v2.0",
        "companyId": COMPANY,
        "journalSet": "customerPaymentJournals",
        "journalId": JOURNAL,
        "paymentId": PAYMENT,
    }
    answers = [
        await call("payment", func.HttpRequest("GET", PAYMENT_URL, route_params=route, body=b"")),
        await call(  # 428: no If-Match
            "payment",
            func.HttpRequest(
                "PATCH",
                PAYMENT_URL,
                headers={"Content-Type": "application/json"},
                route_params=route,
                body=b'{"amount": 1}',
            ),
        ),
        await call("health", func.HttpRequest("GET", "http://localhost/api/health", body=b"")),
        await call(
            "openapi", func.HttpRequest("GET", "http://localhost/api/openapi.json", body=b"")
        ),
        await call(
            "not_found",
            func.HttpRequest("GET", "http://localhost/api/x", route_params={"path": "x"}, body=b""),
        ),
    ]
    assert [a.status_code for a in answers] == [200, 428, 200, 200, 404]
    for answer in answers:
        exposed = [h.strip() for h in answer.headers["Access-Control-Expose-Headers"].split(",")]
        # x-application-check: what the application check of an update did.
        assert exposed == ["ETag", "Location", "Retry-After", "x-request-id", "x-application-check"]
    assert answers[0].headers["ETag"]


# --- cold start ----------------------------------------------------------------------------


def test_a_cold_import_builds_nothing_the_first_request_may_not_need() -> None:
    """Importing the app (what a new instance does before its first request) neither
    builds the OpenAPI document and its route table, nor reads the problems page, nor
    builds the payment models' validators: each is made when first used."""
    script = (
        "import json, sys\n"
        "import function_app\n"
        "from shared.payment import models as payments\n"
        "from shared.api import problem_page\n"
        "from shared.api import handlers\n"
        "models = {**payments.PATCH_MODELS, **payments.LINE_MODELS}\n"
        "lazy = ('shared.api.openapi', 'shared.api.routes')\n"
        "print(json.dumps({\n"
        "    'modules': sorted(m for m in lazy if m in sys.modules),\n"
        "    'documents': handlers._openapi_bytes.cache_info().currsize,\n"
        "    'pages': problem_page.problem_page.cache_info().currsize,\n"
        "    'built': sorted(m.__name__ for m in models.values() if m.__pydantic_complete__),\n"
        "}))\n"
        "payments.validate_update('v2.0', {'comment': 'x'}, amount_decimals=2)\n"
        "print(json.dumps(payments.PaymentPatchV2.__pydantic_complete__))\n"
    )
    lines = fresh_python(script, BC_TENANT_ID="contoso.onmicrosoft.com")
    assert json.loads(lines[0]) == {"modules": [], "documents": 0, "pages": 0, "built": []}
    # The first update builds the model it validates with.
    assert json.loads(lines[1]) is True


@pytest.fixture
def reimport(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Re-import function_app under a changed environment, then restore it."""
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(function_app)


def test_import_with_bad_settings_logs_an_error_and_still_serves(
    reimport: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in BASE_ENV.items():
        reimport.setenv(name, value)
    reimport.setenv("ALLOWED_JOURNAL_IDS", "journal-secret-value")
    reimport.setenv("CALLER_AUTH", "entra")
    reimport.setenv("REQUIRED_CALLER_ROLE", "Payments.Write")
    with caplog.at_level(logging.ERROR):
        module = importlib.reload(function_app)
    assert module.STARTUP_SETTINGS_PROBLEMS == ["ALLOWED_JOURNAL_IDS"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("ALLOWED_JOURNAL_IDS" in message for message in errors)
    assert "journal-secret-value" not in caplog.text
    # The functions are still registered, payment routes anonymous only because of entra.
    payment = trigger(functions(module)["payment"])
    assert payment.auth_level == func.AuthLevel.ANONYMOUS


def test_key_mode_protects_every_route_but_the_anonymous_ones() -> None:
    found = functions(function_app)
    # bulk_status is guarded by its per-job token instead (flows poll without keys).
    anonymous = {"openapi", "problems", "health", "not_found", "bulk_status"}
    for name, fn in found.items():
        if not isinstance(trigger(fn), HttpTrigger):
            continue  # orchestrator and activities: not reachable over HTTP
        level = trigger(fn).auth_level
        assert level == (func.AuthLevel.ANONYMOUS if name in anonymous else func.AuthLevel.FUNCTION)
    # The anonymous routes never reach Business Central: only "payment" has the route.
    assert trigger(found["not_found"]).route == "{*path}"
    assert os.environ.get("CALLER_AUTH", "key") != "entra"


def test_an_unknown_caller_auth_mode_keeps_function_keys(reimport: pytest.MonkeyPatch) -> None:
    reimport.setenv("CALLER_AUTH", "Entra ")  # normalised: still entra
    assert trigger(functions(importlib.reload(function_app))["payment"]).auth_level == (
        func.AuthLevel.ANONYMOUS
    )
    reimport.setenv("CALLER_AUTH", "anonymous")  # not a mode: the stricter level
    assert trigger(functions(importlib.reload(function_app))["payment"]).auth_level == (
        func.AuthLevel.FUNCTION
    )
