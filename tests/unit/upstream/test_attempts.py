"""The rules of an attempt at Business Central: what each status proves, for a
single write, one operation in a $batch, a $batch as a whole and a read (the one
table every path is judged by); the waits between attempts; whether another
attempt fits the budget; and the line each attempt logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from shared.payment.refs import ForwardHeaders
from shared.process import telemetry
from shared.process.problems import Problem
from shared.upstream.attempts import (
    READ_RETRY,
    WAKE_UP_MARGIN_S,
    Budget,
    Proof,
    RetryPolicy,
    batch_proves,
    final_problem,
    log_attempt,
    parse_retry_after,
    proves,
    retry_after_header,
)


def bc_body(code: str) -> bytes:
    """Business Central's own error body."""
    return json.dumps({"error": {"code": code, "message": "Text.  CorrelationId:  x."}}).encode()


GATEWAY_PAGE = b"<html><body>503 Service Unavailable</body></html>"
BODIES = [bc_body("Unknown"), GATEWAY_PAGE, b"", b"{not json"]


@pytest.mark.parametrize("body", BODIES)
def test_throttling_proves_nothing_ran_whoever_says_it(body: bytes) -> None:
    assert proves(429, body) is Proof.NOT_RUN
    assert batch_proves(429, body) is Proof.NOT_RUN


def test_a_503_proves_nothing_ran_only_with_business_centrals_own_error() -> None:
    for code in ("Internal_TenantUnavailable", "Unknown"):
        assert proves(503, bc_body(code)) is Proof.NOT_RUN
        assert batch_proves(503, bc_body(code)) is Proof.NOT_RUN
    # A gateway's 503 (its own page, or nothing) may follow a request that ran.
    for body in (GATEWAY_PAGE, b"", b"{not json", b'{"error": "busy"}'):
        assert proves(503, body) is Proof.UNSETTLED
        assert batch_proves(503, body) is Proof.UNSETTLED


@pytest.mark.parametrize("status", [408, 502, 504])
@pytest.mark.parametrize("body", BODIES)
def test_gateway_answers_and_timeouts_leave_a_write_unsettled(status: int, body: bytes) -> None:
    assert proves(status, body) is Proof.UNSETTLED
    assert batch_proves(status, body) is Proof.UNSETTLED


@pytest.mark.parametrize("status", [200, 201, 204, 400, 401, 403, 404, 409, 412, 413, 500])
def test_anything_else_is_business_centrals_verdict_on_a_single_write(status: int) -> None:
    for body in BODIES:
        assert proves(status, body) is Proof.VERDICT


@pytest.mark.parametrize("status", [200, 401, 403])
def test_a_whole_batch_is_answered_only_by_200_or_a_refusal_at_the_door(status: int) -> None:
    for body in BODIES:
        assert batch_proves(status, body) is Proof.VERDICT


@pytest.mark.parametrize("status", [201, 202, 204, 400, 404, 405, 409, 412, 413, 415, 500, 501])
def test_every_other_whole_batch_status_is_settled_by_reading(status: int) -> None:
    """Operations of a batch run and commit one by one: an error for the whole
    batch may come after some of them ran."""
    for body in BODIES:
        assert batch_proves(status, body) is Proof.UNSETTLED


def test_reads_are_retried_on_every_answer_that_is_not_a_verdict() -> None:
    assert sorted(READ_RETRY) == [429, 502, 503, 504]
    for status in (200, 400, 401, 403, 404, 409, 412, 500):
        assert status not in READ_RETRY


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        ("-3", None),
        ("1.5", None),
        (None, None),
    ],
)
def test_retry_after_forms(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(header, now=lambda: now) == seconds


def test_backoff_has_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=2.0)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (10, 2.0)):
        waits = [policy.backoff(attempt) for _ in range(300)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # spread over the range, not a constant
        assert min(waits) < ceiling / 2


def test_retry_after_wins_over_backoff() -> None:
    assert RetryPolicy().wait(1, 7.0) == 7.0


def test_budget_never_sleeps_past_its_end() -> None:
    clock = [100.0]
    budget = Budget(10.0, clock=lambda: clock[0])
    policy = RetryPolicy(max_wait_s=20.0)
    assert budget.fits(5.0, policy)
    clock[0] = 106.0
    assert budget.remaining() == pytest.approx(4.0)
    assert budget.fits(3.0, policy)
    assert not budget.fits(3.6, policy)  # no time left for the attempt after it
    assert not Budget(100.0).fits(25.0, policy)  # longer than any single wait
    clock[0] = 200.0
    assert budget.remaining() == 0


@pytest.mark.parametrize(
    ("seconds", "header"), [(0.0, 1), (0.2, 1), (1.0, 1), (1.01, 2), (60.0, 60)]
)
def test_retry_after_header_is_a_whole_second_at_least_one(seconds: float, header: int) -> None:
    assert retry_after_header(seconds) == header


def test_another_attempt_needs_room_for_a_late_wake_up() -> None:
    clock = [0.0]
    budget = Budget(10.0, clock=lambda: clock[0])
    policy = RetryPolicy()
    # 0.5 s for the attempt itself, and room for the wake-up to come late.
    assert budget.fits(9.3, policy, needed=0.5)
    assert not budget.fits(9.45, policy, needed=0.5)  # 9.95 s, but no room to wake late
    assert 9.45 + WAKE_UP_MARGIN_S + 0.5 > 10.0 > 9.45 + 0.5
    # What an attempt needs after the wait is the caller's: a PATCH keeps its
    # minimum and the read-back reserve.
    assert budget.fits(4.0, policy, needed=5.0)
    assert not budget.fits(4.0, policy, needed=6.0)


@pytest.mark.parametrize(
    ("slug", "retry_after"),
    [
        ("upstream-throttled", 3),
        ("upstream-unavailable", 3),
        ("identity-unavailable", 3),
        ("upstream-timeout", None),
        ("not-found", None),
    ],
)
def test_the_last_answer_says_when_to_come_back_only_where_waiting_helps(
    slug: str, retry_after: int | None
) -> None:
    assert final_problem(Problem(slug, "detail"), 2.5).retry_after == retry_after


def test_each_attempt_is_one_line_and_counts_on_the_request_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = {
        "error": {
            "code": "Internal_ServerError",
            "message": "Busy.  CorrelationId:  0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.",
        }
    }
    answer = httpx.Response(503, content=json.dumps(error).encode())
    record, token = telemetry.begin_record("attempt-1", "payment", "PATCH")
    try:
        with caplog.at_level(logging.INFO, logger="shared.upstream.client"):
            log_attempt(ForwardHeaders("attempt-1"), "PATCH", 503, answer, 1.5, 1)
            log_attempt(ForwardHeaders("attempt-1"), "PATCH", "ReadTimeout", None, None, 2)
    finally:
        telemetry.end_record(token)
    lines = [r.getMessage() for r in caplog.records if r.name == "shared.upstream.client"]
    assert lines == [
        "request attempt-1: PATCH attempt 1 upstream 503, correlation "
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0, retrying in 1.50 s",
        "request attempt-1: PATCH attempt 2 upstream ReadTimeout",
    ]
    assert (record.attempts, record.bc_status) == (2, None)
    assert record.bc_correlation_id == "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
