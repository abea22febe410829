"""A $batch answered as a whole, end to end (local host, Durable stand-in,
sandbox): only an answer sent before any operation ran proves that none did
(429, Business Central's own 503, 401/403). Every other whole-batch status
is settled like a lost batch: one batched read, then only what the read
proves missing is sent again, and no item is told "nothing was changed"
unless a read proved it."""

from __future__ import annotations

from typing import Any

import pytest

from funchost.durable import DurableStandIn
from tests.support.bulk_jobs import finished, seeded, start, stored
from tests.support.proxy import Proxy, batches_of, bc_requests

pytestmark = pytest.mark.e2e

BATCH = {"method": "POST", "path": "$batch", "times": 1}
GATEWAY_PAGE = "<html><body><h1>503 Service Unavailable</h1></body></html>"

# Whole-batch answers that prove nothing: (rule, what it stands for).
UNSETTLING = {
    "408": {"status": 408, "code": "Unknown", "message": "The operation timed out."},
    "500": {"status": 500, "code": "Internal_ServerError", "message": "Something went wrong."},
    "502": {"status": 502, "rawBody": "<html>Bad Gateway</html>"},
    "503 from a gateway": {"status": 503, "rawBody": GATEWAY_PAGE},
    "504": {"status": 504, "rawBody": "<html>Gateway Timeout</html>"},
    "400": {"status": 400, "code": "BadRequest", "message": "The batch could not be read."},
}


def batches_sent(proxy: Proxy) -> list[tuple[str, int]]:
    """Every $batch the proxy sent, in order: what its operations do, and how many."""
    return [
        (r["body"]["requests"][0]["method"], len(r["body"]["requests"]))
        for r in bc_requests(proxy.sandbox, "POST")
        if r["path"].endswith("/$batch")
    ]


def two_updates(proxy: Proxy, tag: str) -> list[dict[str, Any]]:
    """One update with the line's ETag, one with ``*``."""
    etag = stored(proxy, seeded(proxy, 0))["@odata.etag"]
    return [
        {"id": seeded(proxy, 0), "ifMatch": etag, "changes": {"comment": f"{tag} 0"}},
        {"id": seeded(proxy, 1), "ifMatch": "*", "changes": {"comment": f"{tag} 1"}},
    ]


def run(proxy: Proxy, durable: DurableStandIn, updates: list[dict[str, Any]]) -> list[Any]:
    started = start(proxy, updates)
    durable.wait_idle_sync()
    view = durable.instance(started.json()["jobId"])
    assert view is not None
    # Settled at once by reading: no timer waits to send the same batch again.
    assert view.pending_timers == []
    items: list[Any] = finished(proxy, durable, started)["items"]
    for item in items:
        if item["outcome"] != "updated":
            assert "nothing was changed" not in item["problem"]["detail"].lower()
    return items


@pytest.mark.parametrize("answer", list(UNSETTLING))
def test_a_whole_batch_answer_after_the_batch_ran_is_settled_by_reading(
    proxy: Proxy, durable: DurableStandIn, answer: str
) -> None:
    """Business Central ran the batch, then the answer was an error for the
    whole batch: the lines are read, and never reported failed or unchanged."""
    proxy.sandbox.add_faults({**BATCH, **UNSETTLING[answer], "processFirst": True})
    first, second = run(proxy, durable, two_updates(proxy, answer))
    # Applied under a new ETag: this update's or another writer's; said so, with the line.
    assert (first["outcome"], first["status"]) == ("unknown", 409), first
    now = stored(proxy, seeded(proxy, 0))
    assert first["problem"]["current"]["etag"] == now["@odata.etag"]
    assert now["comment"] == f"{answer} 0"
    # With * the same values are written again, which is harmless.
    assert (second["outcome"], second["status"]) == ("updated", 200), second
    assert stored(proxy, seeded(proxy, 1))["comment"] == f"{answer} 1"
    # One batched read of both lines came before anything was sent again, and
    # only the * item went again.
    assert batches_sent(proxy) == [("PATCH", 2), ("GET", 2), ("PATCH", 1)]


@pytest.mark.parametrize("answer", list(UNSETTLING))
def test_a_whole_batch_answer_before_the_batch_ran_is_read_then_sent_again(
    proxy: Proxy, durable: DurableStandIn, answer: str
) -> None:
    """The same answers when nothing ran: the read proves it (the ETag is the
    one sent), so both updates are sent again, once, and are updated."""
    proxy.sandbox.add_faults({**BATCH, **UNSETTLING[answer]})
    items = run(proxy, durable, two_updates(proxy, answer))
    assert [(i["outcome"], i["status"]) for i in items] == [("updated", 200)] * 2
    for n in (0, 1):
        assert stored(proxy, seeded(proxy, n))["comment"] == f"{answer} {n}"
    assert batches_sent(proxy) == [("PATCH", 2), ("GET", 2), ("PATCH", 2)]
    assert batches_of(proxy.sandbox, "PATCH")[1]["operationStatuses"] == {"0": 200, "1": 200}


def test_business_centrals_own_503_waits_and_sends_the_batch_again(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    """Business Central's own 503 (its error body) is sent before anything runs:
    the batch waits on a durable timer for Retry-After and goes again, unread."""
    proxy.sandbox.add_faults(
        {**BATCH, "status": 503, "code": "Internal_TenantUnavailable", "retryAfter": 20}
    )
    started = start(proxy, two_updates(proxy, "own"))
    durable.wait_idle_sync()
    view = durable.instance(started.json()["jobId"])
    assert view is not None
    assert len(view.pending_timers) == 1
    durable.advance(20)
    items = finished(proxy, durable, started)["items"]
    assert [(i["outcome"], i["status"]) for i in items] == [("updated", 200)] * 2
    assert batches_sent(proxy) == [("PATCH", 2), ("PATCH", 2)]
