"""Azure Functions entry point (Python v2 programming model): wiring only.

Each function turns the ``HttpRequest`` into the core's request value, calls
the core, and turns its answer back into an ``HttpResponse``. All behaviour
lives in ``shared``.
"""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

from shared.bulk import activities as bulk_activities
from shared.bulk import orchestration as bulk_orchestration
from shared.bulk import service as bulk_service
from shared.http.messages import CoreRequest, CoreResponse, lower_headers
from shared.lines import lists
from shared.lines import single as service
from shared.lines import validate as validate_only
from shared.process import logsafety, telemetry
from shared.process.settings import caller_auth_mode, startup_check

# Before anything can log: no token, key or identity secret reaches a log line.
logsafety.install()
# Production log levels; the Application Insights exporter, when configured, starts with
# the first request or job step.
telemetry.install(os.environ)
# A bad setting is reported now, by name, not only at the first request.
STARTUP_SETTINGS_PROBLEMS = startup_check(os.environ)

JOURNALS_ROUTE = "{apiVersion}/companies/{companyId}/{journalSet}"
LINES_ROUTE = JOURNALS_ROUTE + "/{journalId}/customerPayments"
PAYMENT_ROUTE = LINES_ROUTE + "/{paymentId}"
BULK_START_ROUTE = JOURNALS_ROUTE + "/{journalId}/bulkPaymentUpdates"
BULK_STATUS_ROUTE = bulk_service.STATUS_ROUTE + "/{jobId}"

# With Entra callers, App Service Authentication sits in front and the core
# demands its principal header; a function key would be one secret too many
# for a browser, so the Functions layer is anonymous in that mode only.
PAYMENT_AUTH_LEVEL = (
    func.AuthLevel.ANONYMOUS if caller_auth_mode(os.environ) == "entra" else func.AuthLevel.FUNCTION
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


def _core_request(req: func.HttpRequest) -> CoreRequest:
    return CoreRequest(
        method=req.method,
        route_params=dict(req.route_params),
        headers=lower_headers(req.headers),
        body=req.get_body() or b"",
        query=dict(req.params),
    )


def _http_response(res: CoreResponse) -> func.HttpResponse:
    return func.HttpResponse(body=res.body, status_code=res.status, headers=res.headers)


@app.function_name("payment")
@app.route(route=PAYMENT_ROUTE, methods=["GET", "PATCH"], auth_level=PAYMENT_AUTH_LEVEL)
async def payment(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(await service.handle_payment(_core_request(req)))


@app.function_name("validate_payment")
@app.route(route=PAYMENT_ROUTE + "/validate", methods=["POST"], auth_level=PAYMENT_AUTH_LEVEL)
async def validate_payment(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(await validate_only.handle_validate(_core_request(req)))


@app.function_name("list_companies")
@app.route(route="{apiVersion}/companies", methods=["GET"], auth_level=PAYMENT_AUTH_LEVEL)
async def list_companies(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(await lists.handle_companies(_core_request(req)))


@app.function_name("list_journals")
@app.route(route=JOURNALS_ROUTE, methods=["GET"], auth_level=PAYMENT_AUTH_LEVEL)
async def list_journals(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(await lists.handle_journals(_core_request(req)))


@app.function_name("list_payments")
@app.route(route=LINES_ROUTE, methods=["GET"], auth_level=PAYMENT_AUTH_LEVEL)
async def list_payments(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(await lists.handle_lines(_core_request(req)))


@app.function_name("bulk_start")
@app.route(route=BULK_START_ROUTE, methods=["POST"], auth_level=PAYMENT_AUTH_LEVEL)
@app.durable_client_input(client_name="client")
async def bulk_start(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return _http_response(
        await bulk_service.handle_bulk_start(_core_request(req), bulk_service.WebhookJobs(client))
    )


# Anonymous for the Functions host: flows poll Location without credentials;
# the job's own token guards it.
@app.function_name("bulk_status")
@app.route(route=BULK_STATUS_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@app.durable_client_input(client_name="client")
async def bulk_status(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return _http_response(
        await bulk_service.handle_bulk_status(_core_request(req), bulk_service.WebhookJobs(client))
    )


@app.function_name(bulk_orchestration.ORCHESTRATOR)
@app.orchestration_trigger(context_name="context")
def bulk_payment_updates(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return bulk_orchestration.orchestrate(context)


@app.function_name(bulk_orchestration.SEND_ACTIVITY)
@app.activity_trigger(input_name="payload")
async def bulk_send_batch(payload: str) -> str:
    return await bulk_activities.send_batch_activity(payload)


@app.function_name(bulk_orchestration.SETTLE_ACTIVITY)
@app.activity_trigger(input_name="payload")
async def bulk_settle_items(payload: str) -> str:
    return await bulk_activities.settle_items_activity(payload)


@app.function_name("openapi")
@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(service.handle_openapi(_core_request(req)))


@app.function_name("problems")
@app.route(route="problems", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def problems(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(service.handle_problems_page(_core_request(req)))


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(service.handle_health(_core_request(req)))


@app.function_name("not_found")
@app.route(route="{*path}", auth_level=func.AuthLevel.ANONYMOUS)
async def not_found(req: func.HttpRequest) -> func.HttpResponse:
    return _http_response(service.handle_not_found(_core_request(req)))
