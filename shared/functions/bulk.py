"""Bulk jobs: the start and status routes, the orchestrator and its activities.

The orchestrator's and activities' names identify running instances in the task
hub: they never change.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.bulk import activities, durable_client, orchestration, service
from shared.functions.convert import core_request, http_response
from shared.process import paths


def blueprint(auth_level: func.AuthLevel) -> df.Blueprint:
    """Bulk jobs; starting one is behind ``auth_level``, reading one behind its token."""
    bp = df.Blueprint()

    @bp.function_name("bulk_start")
    @bp.route(route=paths.BULK_START, methods=["POST"], auth_level=auth_level)
    @bp.durable_client_input(client_name="client")
    async def bulk_start(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        jobs = durable_client.WebhookJobs(client)
        return http_response(await service.handle_bulk_start(core_request(req), jobs))

    # Anonymous for the Functions host: flows poll Location without credentials;
    # the job's own token guards it.
    @bp.function_name("bulk_status")
    @bp.route(route=paths.BULK_STATUS, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    @bp.durable_client_input(client_name="client")
    async def bulk_status(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        jobs = durable_client.WebhookJobs(client)
        return http_response(await service.handle_bulk_status(core_request(req), jobs))

    @bp.function_name(orchestration.ORCHESTRATOR)
    @bp.orchestration_trigger(context_name="context")
    def bulk_payment_updates(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return orchestration.orchestrate(context)

    @bp.function_name(orchestration.SEND_ACTIVITY)
    @bp.activity_trigger(input_name="payload")
    async def bulk_send_batch(payload: str) -> str:
        return await activities.send_batch_activity(payload)

    @bp.function_name(orchestration.SETTLE_ACTIVITY)
    @bp.activity_trigger(input_name="payload")
    async def bulk_settle_items(payload: str) -> str:
        return await activities.settle_items_activity(payload)

    return bp
