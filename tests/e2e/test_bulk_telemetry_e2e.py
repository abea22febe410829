"""Bulk job records end to end: a job run by the local host's Durable stand-in (the
real SDK, replayed episode by episode) writes one record when it starts and one when
it ends, and both reach Azure Monitor's own log exporter, which posts them to a local
ingestion endpoint. What that endpoint receives is what Application Insights would
store: the custom dimensions the Kusto queries in docs/operations.md read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from funchost.durable import DurableStandIn
from shared.process.jsonio import loads_exact
from tests.support.proxy import Configure, Ingestion, Proxy, throttled_batch

pytestmark = pytest.mark.e2e


def start_job(proxy: Proxy, updates: list[dict[str, Any]]) -> httpx.Response:
    ids = proxy.line()
    url = (
        f"{proxy.url}/v2.0/companies/{ids['company']}/customerPaymentJournals/{ids['journal']}"
        "/bulkPaymentUpdates"
    )
    started = proxy.http.post(url, json={"updates": updates})
    assert started.status_code == 202, started.text
    return started


def job_records(ingestion: Ingestion, job_id: str) -> list[dict[str, Any]]:
    return [r for r in ingestion.records("bulk_job") if r["job_id"] == job_id]


def job_result(durable: DurableStandIn, job_id: str) -> dict[str, Any]:
    durable.wait_done_sync(job_id)
    view = durable.instance(job_id)
    assert view is not None
    assert durable.errors == []
    result: dict[str, Any] = loads_exact(view.output.encode())
    return result


def test_a_job_writes_one_start_and_one_end_record_that_reach_the_exporter(
    proxy: Proxy, durable: DurableStandIn, configure: Configure, ingestion: Ingestion
) -> None:
    configure(BULK_BATCH_SIZE="10", BULK_MAX_CONCURRENCY="2")
    lines = proxy.sandbox.add_lines(25)
    # The first $batch is throttled: it waits 30 s on a Durable timer, then goes again.
    proxy.sandbox.add_faults(throttled_batch(30))
    updates = [
        {"id": line, "ifMatch": "*", "changes": {"comment": f"n{n}"}}
        for n, line in enumerate(lines)
    ]
    updates[24]["ifMatch"] = 'W/"JzE7MDsn"'  # not the line's version: this one fails
    started = start_job(proxy, updates)
    job_id = started.json()["jobId"]
    durable.wait_idle_sync()
    # Started and asleep on its timer: the start record is out, the end one is not.
    assert [r["phase"] for r in job_records(ingestion, job_id)] == ["started"]
    durable.advance(30)
    result = job_result(durable, job_id)
    assert result["counts"] == {"updated": 24, "failed": 1, "unknown": 0}

    view = durable.instance(job_id)
    assert view is not None
    assert view.episodes > 3  # replayed many times, recorded once
    first, last = job_records(ingestion, job_id)
    assert first["phase"] == "started"
    assert (first["total"], first["done"], first["batches"], first["max_in_flight"]) == (
        "25", "0", "3", "2",
    )  # fmt: skip
    assert last["phase"] == "finished"
    assert last["status"] == result["status"] == "CompletedWithErrors"
    assert (last["total"], last["done"]) == ("25", "25")
    assert json.loads(last["counts"]) == result["counts"]
    assert (last["count_updated"], last["count_failed"], last["count_unknown"]) == ("24", "1", "0")
    # Three batches and the throttled one again, after one wait of 30 s.
    assert (last["batches"], last["resends"], last["reads"]) == ("4", "1", "0")
    assert (last["throttled_waits"], last["wait_ms"]) == ("1", "30000")
    # Orchestrator time: the job could not end before its timer fired.
    assert int(last["duration_ms"]) >= 30000
    assert last["peak_in_flight"] == "2"
    assert last["message"] == (
        f"bulk job {job_id} finished: 25 of 25 done (failed 1, unknown 0, updated 24)"
    )
    # Nothing in them that lets anyone read the job.
    token = started.headers["Location"].rsplit("token=", 1)[-1]
    assert token not in json.dumps(ingestion.envelopes)


def test_a_job_replayed_after_a_restart_is_not_recorded_again(
    proxy: Proxy, durable: DurableStandIn, ingestion: Ingestion
) -> None:
    lines = proxy.sandbox.add_lines(3)
    proxy.sandbox.add_faults(throttled_batch(10))
    started = start_job(
        proxy, [{"id": line, "ifMatch": "*", "changes": {"comment": "r"}} for line in lines]
    )
    job_id = started.json()["jobId"]
    durable.wait_idle_sync()
    # The app restarts while the job waits: its whole history is replayed from the start.
    durable.restart_sync()
    durable.wait_idle_sync()
    durable.advance(10)
    result = job_result(durable, job_id)
    assert result["counts"] == {"updated": 3, "failed": 0, "unknown": 0}
    records = job_records(ingestion, job_id)
    assert [r["phase"] for r in records] == ["started", "finished"]
    assert records[1]["count_updated"] == "3"
