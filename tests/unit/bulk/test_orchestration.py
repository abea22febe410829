"""How a bulk job runs: the orchestrator reads its activities' answers, and the job's
result merges every item's in request order, with the counts and the job's status."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from shared.bulk.activities import answer_text
from shared.bulk.orchestration import _answer_of, job_result, job_status
from shared.bulk.plan import JobPlan, pack_settled
from shared.process.jsonio import dumps_exact, loads_exact
from tests.support.bulk import DOCS, failed, job, packed, updated


def test_results_are_merged_in_request_order_with_ids_and_client_refs() -> None:
    plan = JobPlan.start(4, 2, 2, DOCS, "job")
    a, b = plan.take(), plan.take()
    assert a is not None
    assert b is not None
    plan.finish(b, packed({3: failed(), 2: updated(2)}))
    plan.finish(a, packed({1: updated(1), 0: updated(0)}))
    result = job_result(job(4), plan)
    assert [(e["id"], e["clientRef"], e["outcome"]) for e in result["items"]] == [
        ("id-0", "r0", "updated"),
        ("id-1", "r1", "updated"),
        ("id-2", "r2", "updated"),
        ("id-3", "r3", "failed"),
    ]
    assert result["counts"] == {"updated": 3, "failed": 1, "unknown": 0}
    assert result["status"] == "CompletedWithErrors"


def test_job_status() -> None:
    assert job_status([updated(0), updated(1)]) == "Completed"
    assert job_status([updated(0), failed()]) == "CompletedWithErrors"
    assert job_status([failed(), failed()]) == "CompletedWithErrors"
    assert job_status([failed("identity-unavailable"), failed("upstream-auth-failed")]) == "Failed"
    assert job_status([updated(0), failed("upstream-auth-failed")]) == "CompletedWithErrors"


def _task(result: Any) -> Any:
    return SimpleNamespace(result=result)


def test_the_orchestrator_reads_an_answer_without_parsing_its_item_results() -> None:
    results = {3: {"outcome": "updated", "status": 200, "line": {"amount": Decimal("2.50")}}}
    data = {**pack_settled(results), "resend": [4], "retryAfter": 2, "unknown": []}
    text = answer_text(dict(data))
    head, _, packed = text.partition("\n")
    assert "settled" not in loads_exact(head.encode())
    assert packed == data["settled"]  # as packed, unread
    assert _answer_of(_task(text)) == data
    # An answer recorded whole (by a job started before) reads the same.
    assert _answer_of(_task(dumps_exact(data).decode())) == data
    assert _answer_of(_task(RuntimeError("failed"))) is None
