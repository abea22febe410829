"""The bulk routes as bound: the job secret required before the request is looked at,
and the Durable names running instances hold."""

from __future__ import annotations

import json

import pytest

from shared.bulk import orchestration
from shared.functions import bulk
from shared.http.messages import CoreRequest
from shared.process.settings import reset_settings
from tests.support.fakes import payment_path


async def test_without_the_job_secret_a_bulk_start_is_misconfigured_whoever_asks(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BULK_JOB_SECRET")
    monkeypatch.setenv("CALLER_AUTH", "entra")
    monkeypatch.setenv("ALLOWED_CALLERS", "5b0c9e2a-7d3f-4a1b-8c6e-9f0a1b2c3d4e")
    reset_settings()
    path = {k: v for k, v in payment_path().items() if k != "paymentId"}
    # No principal, a path no admission lets in: the missing secret still answers first.
    unsigned = CoreRequest("POST", {**path, "apiVersion": "v9"}, {}, b"{}")
    answer = await bulk.handle_bulk_start(unsigned, None)  # type: ignore[arg-type]
    body = json.loads(answer.body)
    assert (answer.status, body["type"].rsplit("#", 1)[1]) == (500, "proxy-misconfigured")
    assert "BULK_JOB_SECRET" in body["detail"]


def test_the_durable_names_running_instances_hold_never_change() -> None:
    assert (
        orchestration.ORCHESTRATOR,
        orchestration.SEND_ACTIVITY,
        orchestration.SETTLE_ACTIVITY,
    ) == ("bulk_payment_updates", "bulk_send_batch", "bulk_settle_items")
    assert (bulk.handle_bulk_start.name, bulk.handle_bulk_status.name) == (
        "bulk start",
        "bulk status",
    )
