"""The bulk job's pure bookkeeping: chunks, the sliding window, waits before
resending, merging in request order, counts and job status."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.bulk.orchestration import job_result
from shared.bulk.plan import (
    MAX_BACKOFF_S,
    MAX_RESENDS,
    MAX_WAIT_S,
    JobPlan,
    Step,
    chunk,
    resend_wait,
)
from tests.support.bulk import DOCS, failed, job, packed, problem, updated


@given(st.integers(0, 400), st.integers(1, 100))
def test_chunks_cover_every_index_once_in_order(total: int, size: int) -> None:
    batches = chunk(range(total), size)
    assert [i for batch in batches for i in batch] == list(range(total))
    assert all(1 <= len(batch) <= size for batch in batches)
    assert len(batches) == math.ceil(total / size)


def test_chunk_refuses_an_empty_size() -> None:
    with pytest.raises(ValueError, match="size"):
        chunk([1], 0)


def test_resend_wait_honours_retry_after_and_backs_off_without_it() -> None:
    assert resend_wait(7.0, 1) == 7.0
    assert resend_wait(0.0, 3) == 0.0
    assert resend_wait(10_000.0, 1) == MAX_WAIT_S
    assert [resend_wait(None, n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert resend_wait(None, 30) == MAX_BACKOFF_S


def test_take_never_exceeds_the_window() -> None:
    plan = JobPlan.start(1000, 100, 2)
    first, second = plan.take(), plan.take()
    assert first is not None
    assert second is not None
    assert (first.indexes[0], second.indexes[0]) == (0, 100)
    assert plan.take() is None
    assert plan.finish(first, packed({i: updated(i) for i in first.indexes})) is None
    third = plan.take()
    assert third is not None
    assert third.indexes[0] == 200
    assert plan.peak == 2


def test_throttled_batch_keeps_its_slot_waits_then_resends() -> None:
    plan = JobPlan.start(3, 3, 1, DOCS, "job")
    send = plan.take()
    assert send is not None
    answer = {"resend": [0, 1, 2], "retryAfter": 3, "resendProblem": problem("upstream-throttled")}
    wait = plan.finish(send, answer)
    assert wait == Step("wait", (0, 1, 2), 1, 3.0)
    assert plan.in_flight == 1
    again = plan.finish(wait, None)
    assert again == Step("send", (0, 1, 2), 1)
    assert plan.in_flight == 1


def test_throttling_is_bounded_then_the_items_fail_with_the_throttle_problem() -> None:
    plan = JobPlan.start(2, 2, 1, DOCS, "job")
    step = plan.take()
    answer = {"resend": [0, 1], "retryAfter": None, "resendProblem": problem("upstream-throttled")}
    rounds = 0
    while step is not None:
        step = plan.finish(step, answer if step.kind == "send" else None)
        rounds += step is not None and step.kind == "wait"
    assert rounds == MAX_RESENDS
    assert plan.finished
    results = plan.final_results()
    assert {results[i]["status"] for i in (0, 1)} == {429}
    assert results[0]["problem"]["type"].endswith("#upstream-throttled")


def test_operations_not_executed_are_resent_at_once() -> None:
    plan = JobPlan.start(3, 3, 1, DOCS, "job")
    send = plan.take()
    assert send is not None
    follow = plan.finish(send, packed({0: failed()}, resend=[1, 2]))
    assert follow == Step("send", (1, 2), 1)
    assert plan.final_results()[0]["status"] == 412


def test_unknown_items_are_settled_one_by_one_and_never_guessed() -> None:
    plan = JobPlan.start(3, 3, 1, DOCS, "job")
    send = plan.take()
    assert send is not None
    assert plan.finish(send, packed({0: updated(0)}, unknown=[1, 2])) is None
    settle = plan.take()
    assert settle == Step("settle", (1, 2))
    assert plan.finish(settle, packed({1: updated(1)})) is None
    results = plan.final_results()
    assert results[2]["outcome"] == "unknown"
    assert results[2]["status"] == 504
    assert plan.finished


def test_a_failed_send_activity_settles_its_items() -> None:
    plan = JobPlan.start(2, 2, 1)
    send = plan.take()
    assert send is not None
    assert plan.finish(send, None) is None
    assert plan.take() == Step("settle", (0, 1))


def test_auth_failure_stops_the_job_and_fails_what_was_not_sent() -> None:
    plan = JobPlan.start(300, 100, 1, DOCS, "job")
    send = plan.take()
    assert send is not None
    auth = failed("upstream-auth-failed")
    assert plan.finish(send, packed(dict.fromkeys(send.indexes, auth))) is None
    assert plan.take() is None
    assert plan.finished
    result = job_result(job(300), plan)
    assert result["status"] == "Failed"
    assert result["counts"] == {"updated": 0, "failed": 300, "unknown": 0}


answers = st.sampled_from(["ok", "throttled", "skipped", "unknown", "crash"])


@given(
    total=st.integers(1, 60),
    size=st.integers(1, 10),
    cap=st.integers(1, 4),
    script=st.lists(st.tuples(st.integers(0, 10), answers), max_size=300),
)
def test_window_property(total: int, size: int, cap: int, script: list[tuple[int, str]]) -> None:
    """Whatever order steps end in and whatever Business Central answers, the
    window never holds more than the cap, the job ends, and every item gets
    exactly one result."""
    plan = JobPlan.start(total, size, cap, DOCS, "job")
    running: list[Step] = []
    moves = iter(script)
    while not plan.finished:
        while (step := plan.take()) is not None:
            running.append(step)
        assert len(running) == plan.in_flight <= cap
        pick, kind = next(moves, (0, "ok"))
        step = running.pop(pick % len(running))
        follow = plan.finish(step, _answer(step, kind))
        if follow is not None:
            running.append(follow)
    assert plan.peak <= cap
    results = plan.final_results()
    assert sorted(results) == list(range(total))
    assert plan.done == total
    assert all(r["outcome"] in ("updated", "failed", "unknown") for r in results.values())


def _answer(step: Step, kind: str) -> dict[str, Any] | None:
    if step.kind == "wait" or kind == "crash":
        return None
    ok = {i: updated(i) for i in step.indexes}
    if step.kind == "settle" or kind == "ok":
        return packed(ok)
    if kind == "throttled":
        return {"resend": list(step.indexes), "resendProblem": problem("upstream-throttled")}
    if kind == "skipped":
        return packed(dict(list(ok.items())[:1]), resend=list(step.indexes[1:]))
    return {"unknown": list(step.indexes)}


def test_packed_results_keep_the_first_result_of_an_item() -> None:
    plan = JobPlan.start(2, 2, 1, DOCS, "job")
    plan.record(packed({0: updated(0)}))
    plan.record(packed({0: failed(), 1: failed()}))
    plan.settle({1: updated(1)})  # already settled: ignored
    results = plan.final_results()
    assert (results[0]["outcome"], results[1]["outcome"]) == ("updated", "failed")
    assert plan.done == 2


def test_a_stop_leaves_unknown_items_unknown_and_fails_only_what_was_never_sent() -> None:
    plan = JobPlan.start(6, 2, 3, DOCS, "job")
    lost = plan.take()
    auth = plan.take()
    assert lost == Step("send", (0, 1))
    assert auth == Step("send", (2, 3))
    # The first batch's answer was lost: its items wait for a read.
    assert plan.finish(lost, None) is None
    assert list(plan.ready) == [Step("settle", (0, 1)), Step("send", (4, 5))]
    stop = failed("upstream-auth-failed")
    assert plan.finish(auth, packed(dict.fromkeys(auth.indexes, stop))) is None
    assert plan.take() is None
    assert plan.finished
    results = plan.final_results()
    assert [results[i]["outcome"] for i in range(6)] == [
        "unknown",
        "unknown",
        "failed",
        "failed",
        "failed",
        "failed",
    ]
    assert results[4]["problem"]["type"].endswith("#upstream-auth-failed")


def test_nothing_is_sent_after_a_stop_timers_and_lost_answers_included() -> None:
    plan = JobPlan.start(6, 2, 3, DOCS, "job")
    throttled, lost, auth = plan.take(), plan.take(), plan.take()
    assert throttled is not None
    assert lost is not None
    assert auth is not None
    wait = plan.finish(throttled, {"resend": [0, 1], "retryAfter": 5})
    assert wait is not None
    assert wait.kind == "wait"
    stop = failed("upstream-auth-failed")
    assert plan.finish(auth, packed(dict.fromkeys(auth.indexes, stop))) is None
    # A batch answered after the stop with items of unknown outcome: no read is queued.
    assert plan.finish(lost, packed({}, unknown=[2, 3])) is None
    # The timer fires after the stop: its slot sends nothing.
    assert plan.finish(wait, None) is None
    assert plan.take() is None
    assert plan.finished
    results = plan.final_results()
    assert [results[i]["outcome"] for i in range(6)] == [
        "failed",
        "failed",
        "unknown",
        "unknown",
        "failed",
        "failed",
    ]
