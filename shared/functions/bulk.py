"""Bulk jobs: the start and status routes, the orchestrator and its activities.

The orchestrator's and activities' names identify running instances in the task
hub: they never change.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.bulk import activities, orchestration, service
from shared.bulk.durable_client import WebhookJobs
from shared.functions.frame import CallerRoute, PublicRoute, bind_with_client
from shared.process import paths
from shared.upstream.runtime import get_runtime

handle_bulk_start = CallerRoute(
    "bulk start", service.start, query=service.START_QUERY, requires=service.job_secret
)
handle_bulk_status = PublicRoute("bulk status", service.status, query=service.STATUS_QUERY)


async def send_batch(payload: str) -> str:
    """The send activity, with the settings and the client it works with."""
    runtime = get_runtime()
    return await activities.send_batch_activity(payload, runtime.settings, runtime.bc)


async def settle_items(payload: str) -> str:
    """The settle activity, with the settings and the client it works with."""
    runtime = get_runtime()
    return await activities.settle_items_activity(payload, runtime.settings, runtime.bc)


def blueprint(auth_level: func.AuthLevel) -> df.Blueprint:
    """Bulk jobs; starting one is behind ``auth_level``, reading one behind its token."""
    bp = df.Blueprint()

    bind_with_client(
        bp, "bulk_start", paths.BULK_START, ["POST"], auth_level, handle_bulk_start, WebhookJobs
    )
    # Anonymous for the Functions host: flows poll Location without credentials;
    # the job's own token guards it.
    anonymous = func.AuthLevel.ANONYMOUS
    bind_with_client(
        bp, "bulk_status", paths.BULK_STATUS, ["GET"], anonymous, handle_bulk_status, WebhookJobs
    )

    @bp.function_name(orchestration.ORCHESTRATOR)
    @bp.orchestration_trigger(context_name="context")
    def bulk_payment_updates(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return orchestration.orchestrate(context)

    @bp.function_name(orchestration.SEND_ACTIVITY)
    @bp.activity_trigger(input_name="payload")
    async def bulk_send_batch(payload: str) -> str:
        return await send_batch(payload)

    @bp.function_name(orchestration.SETTLE_ACTIVITY)
    @bp.activity_trigger(input_name="payload")
    async def bulk_settle_items(payload: str) -> str:
        return await settle_items(payload)

    return bp
