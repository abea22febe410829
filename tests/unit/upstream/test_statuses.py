"""What each status proves, for a single write, one operation in a $batch,
a $batch as a whole and a read: the one table every path is judged by."""

from __future__ import annotations

import json

import pytest

from shared.upstream.statuses import READ_RETRY, Proof, batch_proves, proves


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
