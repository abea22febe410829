# mypy: disable-error-code="untyped-decorator"
# (the Durable SDK's decorators carry no types)
"""The stand-in catches an orchestrator that is not deterministic on replay:
here the bulk orchestrator wrapped so that it reads a setting on every
replay (exactly what the real one avoids by fixing the job's shape in its
input). The real orchestrator passes the same scenario in test_bulk_e2e."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from funchost.durable import DurableStandIn, NonDeterministicOrchestrationError, VirtualClock
from shared.bulk.orchestration import ORCHESTRATOR, SEND_ACTIVITY, SETTLE_ACTIVITY, orchestrate
from shared.functions import bulk as bulk_functions
from shared.process.jsonio import dumps_exact, loads_exact
from shared.process.settings import current_settings
from shared.upstream import runtime as runtime_module
from tests.support.proxy import Configure, Proxy

pytestmark = pytest.mark.e2e

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


class _SettingsOnEveryReplay:
    """The mistake: the batch size taken from the settings at replay time."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def get_input(self) -> str:
        job = loads_exact(str(self._context.get_input()).encode())
        job["batchSize"] = current_settings().bulk_batch_size
        return dumps_exact(job).decode()


@app.function_name(ORCHESTRATOR)
@app.orchestration_trigger(context_name="context")
def careless(context: df.DurableOrchestrationContext) -> Any:
    return orchestrate(_SettingsOnEveryReplay(context))


@app.function_name(SEND_ACTIVITY)
@app.activity_trigger(input_name="payload")
async def send(payload: str) -> str:
    return await bulk_functions.send_batch(payload)


@app.function_name(SETTLE_ACTIVITY)
@app.activity_trigger(input_name="payload")
async def settle(payload: str) -> str:
    return await bulk_functions.settle_items(payload)


async def test_reading_settings_on_replay_is_caught(proxy: Proxy, configure: Configure) -> None:
    configure(BULK_BATCH_SIZE="2")
    stand_in = DurableStandIn(app, clock=VirtualClock())
    await stand_in.startup()
    try:
        proxy.sandbox.add_faults(
            {"method": "POST", "path": "$batch", "times": 1, "status": 429,
             "code": "Application_TooManyRequests", "retryAfter": 10}
        )  # fmt: skip
        ids = proxy.line()
        payments = proxy.sandbox.seed["companies"][0]["journals"][0]["payments"]
        job = {
            "jobId": "f" * 32,
            "version": "v2.0",
            "companyId": ids["company"],
            "journalId": ids["journal"],
            "token": "not-used-here",
            "batchSize": 2,
            "maxConcurrency": 1,
            "items": [
                dumps_exact(
                    {"index": n, "id": p["id"], "ifMatch": "*", "changes": {"comment": "x"}}
                ).decode()
                for n, p in enumerate(payments[:3])
            ],
        }
        instance = await stand_in.start_new(ORCHESTRATOR, dumps_exact(job).decode(), "f" * 32)
        await stand_in.wait_idle()
        configure(BULK_BATCH_SIZE="1")
        await stand_in.advance_async(10)
        await stand_in.wait_done(instance, raise_errors=False)
        assert any(isinstance(e, NonDeterministicOrchestrationError) for e in stand_in.errors)
    finally:
        await stand_in.shutdown()
        await runtime_module.aclose_runtime()
