"""The dimensions the deployed queries read (infra/monitoring/queries: the alerts, the
workbook, the runbook) are the ones Azure Monitor's own exporter sends, end to end: real
requests and a real bulk job through the local host and the sandbox, their records
posted to a local ingestion endpoint. A dimension an alert filters on that never
reaches Application Insights would keep the alert silent forever."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from funchost.durable import DurableStandIn
from tests.support.kusto import deployed_reads
from tests.support.proxy import PATCH_RULE, Configure, Ingestion, Proxy, throttled_batch

pytestmark = pytest.mark.e2e

APP_ID = "5b0c9e2a-7d3f-4a1b-8c6e-9f0a1b2c3d4e"


def principal(app_id: str) -> str:
    claims = {"auth_typ": "aad", "claims": [{"typ": "appid", "val": app_id}]}
    return base64.b64encode(json.dumps(claims).encode()).decode()


def exported(records: list[dict[str, Any]]) -> set[str]:
    return set().union(*(set(record) for record in records))


def test_request_records_carry_every_dimension_the_deployed_queries_read(
    proxy: Proxy, configure: Configure, ingestion: Ingestion
) -> None:
    # An Entra caller (caller_id), a PATCH throttled once then applied (attempts, wait_ms,
    # bc_status), and one Business Central refuses (problem, bc_correlation_id).
    configure(
        ALLOWED_CALLERS=APP_ID, SYNC_BUDGET_S="4", READ_BACK_RESERVE_S="0.5", MIN_ATTEMPT_S="0.5"
    )
    caller = {"X-MS-CLIENT-PRINCIPAL": principal(APP_ID)}
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 1, "status": 429, "code": "Application_TooManyRequests",
         "retryAfter": 1}
    )  # fmt: skip
    assert proxy.patch({"comment": "a"}, headers=caller).status_code == 200
    refused = proxy.patch({"comment": "b"}, if_match='W/"JzE7MDsn"', headers=caller)
    assert refused.status_code == 412
    records = ingestion.records("request")
    assert len(records) == 2
    read = deployed_reads("request")
    assert {"problem", "status", "attempts", "wait_ms", "duration_ms", "bc_status"} <= read
    assert read - exported(records) == set()


def test_bulk_job_records_carry_every_dimension_the_deployed_queries_read(
    proxy: Proxy, durable: DurableStandIn, ingestion: Ingestion
) -> None:
    lines = proxy.sandbox.add_lines(3)
    proxy.sandbox.add_faults(throttled_batch(5))
    ids = proxy.line()
    started = proxy.http.post(
        f"{proxy.url}/v2.0/companies/{ids['company']}/customerPaymentJournals/{ids['journal']}"
        "/bulkPaymentUpdates",
        json={
            "updates": [{"id": line, "ifMatch": "*", "changes": {"comment": "j"}} for line in lines]
        },
    )
    assert started.status_code == 202, started.text
    durable.wait_idle_sync()
    durable.advance(5)
    durable.wait_done_sync(started.json()["jobId"])
    records = ingestion.records("bulk_job")
    assert [record["phase"] for record in records] == ["started", "finished"]
    read = deployed_reads("bulk_job")
    assert {"phase", "count_unknown", "duration_ms", "job_id"} <= read
    assert read - exported(records) == set()
