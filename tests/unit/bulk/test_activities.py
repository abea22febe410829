"""A bulk job's send activity against a faked Business Central: the slice's batches
sent one after another, a batch refused for now ending the step with every update not
sent yet handed back; and an item's result as the job's status shows it, in the bulk
way's words."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from shared.bulk.activities import in_bulk_words, outcome_json, send_batch_activity
from shared.bulk.job import Job
from shared.payment.settlement import refused, updated
from shared.process.jsonio import loads_exact
from shared.process.problems import Problem
from shared.upstream.batch import Operation
from shared.upstream.runtime import get_runtime
from tests.support.fakes import COMPANY, JOURNAL, NEW_ETAG, FakeBusinessCentral, batch_answer
from tests.support.fakes import bc_line as line_of

IDS = [f"{n:08x}-3333-4000-8000-000000000000" for n in range(1, 7)]
DOCS = "https://docs.example.test/problems"


def slice_of(count: int, batch_size: int) -> str:
    texts = tuple(Operation(i, IDS[i], "*", {"comment": f"c{i}"}).as_text() for i in range(count))
    job = Job("job-1", "v2.0", COMPANY, JOURNAL, texts, docs_url=DOCS, batch_size=batch_size)
    return job.slice_json(range(count))


def answer_of(text: str) -> dict[str, Any]:
    head, _, packed = text.partition("\n")
    data: dict[str, Any] = loads_exact(head.encode())
    data["settled"] = loads_exact(packed.encode())
    return data


def ok(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)["requests"]
    return batch_answer(
        *(
            {
                "id": op["id"],
                "status": 200,
                "headers": {"ETag": NEW_ETAG},
                "body": line_of(amount=Decimal("2000.5")),
            }
            for op in sent
        )
    )


async def test_a_slices_batches_go_one_after_another(bc: FakeBusinessCentral) -> None:
    bc.responder = ok
    runtime = get_runtime()
    answer = answer_of(await send_batch_activity(slice_of(5, 2), runtime.settings, runtime.bc))
    assert [len(json.loads(r.content)["requests"]) for r in bc.requests] == [2, 2, 1]
    assert sorted(answer["settled"]) == ["0", "1", "2", "3", "4"]
    assert (answer["resend"], answer["unknown"], answer["retryAfter"]) == ([], [], None)


async def test_a_batch_refused_for_now_ends_the_step_and_hands_back_what_was_not_sent(
    bc: FakeBusinessCentral,
) -> None:
    calls: list[int] = []

    def second_throttled(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 2:
            error = {"error": {"code": "Application_TooManyRequests", "message": "slow"}}
            return httpx.Response(429, headers={"Retry-After": "3"}, json=error)
        return ok(request)

    bc.responder = second_throttled
    runtime = get_runtime()
    answer = answer_of(await send_batch_activity(slice_of(6, 2), runtime.settings, runtime.bc))
    assert len(bc.requests) == 2  # the third batch is not sent after the refusal
    assert sorted(answer["settled"]) == ["0", "1"]
    assert answer["resend"] == [2, 3, 4, 5]
    assert answer["retryAfter"] == 3
    assert answer["resendProblem"]["type"].endswith("#upstream-throttled")


def test_an_items_result_says_if_match_the_bulk_way() -> None:
    assert (
        in_bulk_words("Send If-Match with the line's ETag") == "Send ifMatch with the line's ETag"
    )
    assert in_bulk_words("If-Matching") == "If-Matching"  # a whole word only
    problem = Problem("etag-mismatch", "retry with that ETag in If-Match.")
    failed = outcome_json(refused(problem), DOCS, "job-1")
    assert failed["outcome"] == "failed"
    assert failed["problem"]["detail"] == "retry with that ETag in ifMatch."
    assert failed["problem"]["type"] == f"{DOCS}#etag-mismatch"
    done = outcome_json(updated({"etag": NEW_ETAG, "amount": 1}), DOCS, "job-1")
    assert done == {
        "outcome": "updated",
        "status": 200,
        "etag": NEW_ETAG,
        "line": {"etag": NEW_ETAG, "amount": 1},
    }
