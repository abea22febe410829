"""The retry policy's arithmetic: Retry-After, backoff, the budget."""

from __future__ import annotations

import pytest

from shared.upstream.retries import Budget, RetryPolicy, parse_retry_after, retry_after_header


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
