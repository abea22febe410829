"""Bulk jobs end to end: the local host serving function_app with the Durable
stand-in (the real SDK, replayed episode by episode, on a virtual clock),
the real managed-identity credential and httpx, and the sandbox's $batch.
Every item's result is checked against the sandbox's own state and log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from funchost.durable import DurableStandIn
from shared.process.jsonio import dumps_exact, loads_exact
from tests.support.bulk_jobs import finished, seeded, start, stored
from tests.support.proxy import Configure, Proxy, batches_of, bc_requests

pytestmark = pytest.mark.e2e


def batches(proxy: Proxy) -> list[dict[str, Any]]:
    """The batches that write (the batched reads that settle are not counted)."""
    return batches_of(proxy.sandbox, "PATCH")


def test_a_job_runs_every_update_in_order_through_a_window_of_batches(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    configure(BULK_BATCH_SIZE="10", BULK_MAX_CONCURRENCY="3")
    ids = proxy.sandbox.add_lines(95)
    # Slow enough that batches overlap: the window, not luck, keeps them at 3.
    proxy.sandbox.set_latency(30, 1)
    proxy.sandbox.clear_requests()
    updates = [
        {"id": line, "ifMatch": "*", "changes": {"comment": f"row {n}"}, "clientRef": f"r{n}"}
        for n, line in enumerate(ids)
    ]
    started = start(proxy, updates)
    body = started.json()
    assert (body["status"], body["total"]) == ("Running", 95)
    assert urlsplit(started.headers["Location"]).netloc == urlsplit(proxy.url).netloc
    result = finished(proxy, durable, started)
    assert (result["status"], result["counts"]) == (
        "Completed",
        {"updated": 95, "failed": 0, "unknown": 0},
    )
    assert [(i["id"], i["clientRef"]) for i in result["items"]] == [
        (line, f"r{n}") for n, line in enumerate(ids)
    ]
    for n in (0, 41, 94):
        line = stored(proxy, ids[n])
        assert line["comment"] == f"row {n}"
        assert result["items"][n]["etag"] == line["@odata.etag"]
        assert result["items"][n]["line"]["comment"] == f"row {n}"
    sent = batches(proxy)
    assert len(sent) == 10
    assert sorted(len(r["body"]["requests"]) for r in sent) == [5] + [10] * 9
    assert "peakBatchesInFlight" not in result
    # The window: at most 3 batches at once, and it was used.
    assert durable.activity_peaks["bulk_send_batch"] == 3
    assert proxy.sandbox.concurrency()["max"] <= 3
    view = durable.instance(body["jobId"])
    assert view is not None
    assert loads_exact(view.output.encode())["peakBatchesInFlight"] == 3
    token = urlsplit(started.headers["Location"]).query.removeprefix("token=")
    assert (view.custom_status["done"], view.custom_status["total"]) == (95, 95)
    assert token not in str(view.custom_status)  # only its digest


def test_a_throttled_batch_waits_for_its_durable_timer(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    proxy.sandbox.add_faults(
        {"method": "POST", "path": "$batch", "times": 1, "status": 429,
         "code": "Application_TooManyRequests", "retryAfter": 30}
    )  # fmt: skip
    before = stored(proxy, seeded(proxy, 0))
    started = start(proxy, [{"id": seeded(proxy, 0), "ifMatch": "*", "changes": {"comment": "t"}}])
    job_id = started.json()["jobId"]
    durable.wait_idle_sync()
    # Asleep on its timer, not on a worker: nothing more is sent until it fires.
    running = httpx.get(started.headers["Location"], timeout=30)
    assert (running.status_code, running.json()["done"]) == (202, 0)
    assert running.headers["Location"] == started.headers["Location"]
    assert int(running.headers["Retry-After"]) >= 1
    view = durable.instance(job_id)
    assert view is not None
    assert len(view.pending_timers) == 1
    assert len(batches(proxy)) == 1
    assert stored(proxy, seeded(proxy, 0)) == before
    durable.advance(29)
    durable.wait_idle_sync()
    assert len(batches(proxy)) == 1
    durable.advance(1)
    result = finished(proxy, durable, started)
    assert result["items"][0]["outcome"] == "updated"
    assert len(batches(proxy)) == 2
    assert stored(proxy, seeded(proxy, 0))["comment"] == "t"


def test_a_failing_operation_does_not_stop_the_others(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    proxy.sandbox.set_batch_on_error("stop")  # a Business Central that stops unless asked
    ids = proxy.sandbox.add_lines(4)
    stale = stored(proxy, ids[2])["@odata.etag"]
    httpx.patch(
        proxy.sandbox.line_url(ids[2]),
        headers={**proxy.sandbox.auth_headers(), "If-Match": "*"},
        json={"comment": "changed meanwhile"},
        timeout=10,
    ).raise_for_status()
    updates = [
        {"id": ids[0], "ifMatch": "*", "changes": {"amount": Decimal("10.50")}},
        # A line number taken by another line: Business Central refuses it (an
        # unknown customer would be refused by the application check before the batch).
        {"id": ids[1], "ifMatch": "*", "changes": {"lineNumber": 10000}},
        {"id": ids[2], "ifMatch": stale, "changes": {"comment": "mine"}},
        {"id": ids[3], "ifMatch": "*", "changes": {"comment": "last"}},
    ]
    result = finished(proxy, durable, start(proxy, updates))
    assert [(i["outcome"], i["status"]) for i in result["items"]] == [
        ("updated", 200),
        ("failed", 422),
        ("failed", 412),
        ("updated", 200),
    ]
    assert result["items"][1]["problem"]["type"].endswith("#upstream-rejected")
    assert result["items"][2]["problem"]["type"].endswith("#etag-mismatch")
    assert result["status"] == "CompletedWithErrors"
    assert stored(proxy, ids[0])["amount"] == Decimal("10.5")
    assert stored(proxy, ids[2])["comment"] == "changed meanwhile"
    assert stored(proxy, ids[3])["comment"] == "last"


def test_a_batch_whose_answer_was_lost_is_settled_by_one_batched_read(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    etag = stored(proxy, seeded(proxy, 0))["@odata.etag"]
    proxy.sandbox.add_faults({"method": "POST", "path": "$batch", "times": 1, "drop": "after"})
    updates = [
        {"id": seeded(proxy, 0), "ifMatch": etag, "changes": {"comment": "lost answer"}},
        {"id": seeded(proxy, 1), "ifMatch": "*", "changes": {"comment": "lost answer too"}},
    ]
    result = finished(proxy, durable, start(proxy, updates))
    first, second = result["items"]
    # Applied under a new ETag: this update or another writer's; never claimed as ours.
    assert (first["outcome"], first["status"]) == ("unknown", 409)
    assert first["problem"]["current"]["etag"] == stored(proxy, seeded(proxy, 0))["@odata.etag"]
    assert first["problem"]["current"]["comment"] == "lost answer"
    # With * the same values are simply written again.
    assert (second["outcome"], second["status"]) == ("updated", 200)
    # Both lines read in one batched read before anything is sent again.
    reads = batches_of(proxy.sandbox, "GET")
    assert [len(r["body"]["requests"]) for r in reads] == [2]
    assert bc_requests(proxy.sandbox, "GET") == []


def test_a_repeated_activity_changes_nothing_twice(proxy: Proxy, durable: DurableStandIn) -> None:
    durable.lose_next_results("bulk_send_batch")  # the worker dies after Business Central ran it
    etags = [stored(proxy, seeded(proxy, n))["@odata.etag"] for n in (0, 1)]
    updates = [
        {"id": seeded(proxy, n), "ifMatch": etags[n], "changes": {"comment": f"once {n}"}}
        for n in (0, 1)
    ]
    result = finished(proxy, durable, start(proxy, updates))
    assert durable.activity_runs["bulk_send_batch"] == 2
    assert len(batches(proxy)) == 2
    for n, item in enumerate(result["items"]):
        now = stored(proxy, seeded(proxy, n))
        assert now["comment"] == f"once {n}"
        # The repeat met its If-Match, so it wrote nothing; the job reports what
        # it can prove: the values are there, under an ETag it cannot call its own.
        assert (item["outcome"], item["status"]) == ("unknown", 409)
        assert item["problem"]["current"]["etag"] == now["@odata.etag"]
    assert bc_requests(proxy.sandbox, "PATCH") == []


def test_idempotency_key_both_ways(proxy: Proxy, durable: DurableStandIn) -> None:
    updates = [{"id": seeded(proxy, 0), "ifMatch": "*", "changes": {"comment": "once"}}]
    first = start(proxy, updates, key="statement-30-11")
    result = finished(proxy, durable, first)
    assert result["status"] == "Completed"
    again = start(proxy, updates, key="statement-30-11")
    assert again.status_code == 202
    assert again.headers["Location"] == first.headers["Location"]
    assert len(durable.instances()) == 1
    assert len(batches(proxy)) == 1  # a finished job is never run a second time
    other = start(proxy, [{**updates[0], "changes": {"comment": "twice"}}], key="statement-30-11")
    assert other.status_code == 422
    assert other.json()["type"].endswith("#idempotency-key-reused")
    assert len(durable.instances()) == 1
    assert stored(proxy, seeded(proxy, 0))["comment"] == "once"


def test_validation_failure_starts_nothing(proxy: Proxy, durable: DurableStandIn) -> None:
    updates = [
        {"id": seeded(proxy, 0), "ifMatch": "*", "changes": {"amount": "1.234"}},
        {"id": seeded(proxy, 0).upper(), "ifMatch": "*", "changes": {"comment": "x"}},
        {"id": seeded(proxy, 1), "changes": {"comment": "x"}},
    ]
    response = start(proxy, updates)
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("updates[0].changes.amount", "too_many_decimals"),
        ("updates[1].id", "duplicate_id"),
        ("updates[2].ifMatch", "required"),
    ]
    checked = start(proxy, updates[:1], query="?validateOnly=true")
    assert checked.status_code == 422
    valid = start(proxy, updates[1:2], query="?validateOnly=true")
    assert valid.json() == {"valid": True, "total": 1}
    assert durable.instances() == []
    assert bc_requests(proxy.sandbox) == []


def test_wrong_token_or_unknown_job_is_404(proxy: Proxy, durable: DurableStandIn) -> None:
    started = start(proxy, [{"id": seeded(proxy, 0), "ifMatch": "*", "changes": {"comment": "x"}}])
    finished(proxy, durable, started)
    location = urlsplit(started.headers["Location"])
    base = f"{location.scheme}://{location.netloc}{location.path}"
    wrong = httpx.get(f"{base}?token=not-the-token", timeout=10)
    missing = httpx.get(base, timeout=10)
    unknown = httpx.get(f"{proxy.url}/bulkPaymentUpdates/{'0' * 32}?{location.query}", timeout=10)
    assert wrong.status_code == missing.status_code == unknown.status_code == 404
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert location.query.removeprefix("token=") not in wrong.text + unknown.text


def test_settings_changed_mid_job_change_nothing_in_it(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    """The job's shape is fixed in its input, so replays after a settings
    change still produce the same actions (the stand-in checks every replay)."""
    configure(BULK_BATCH_SIZE="2", BULK_MAX_CONCURRENCY="1")
    proxy.sandbox.add_faults(
        {"method": "POST", "path": "$batch", "times": 1, "status": 429,
         "code": "Application_TooManyRequests", "retryAfter": 10}
    )  # fmt: skip
    updates = [
        {"id": line, "ifMatch": "*", "changes": {"comment": f"c{n}"}}
        for n, line in enumerate(proxy.sandbox.add_lines(4))
    ]
    started = start(proxy, updates)
    durable.wait_idle_sync()
    configure(BULK_BATCH_SIZE="1", BULK_MAX_CONCURRENCY="3")
    durable.advance(10)
    result = finished(proxy, durable, started)
    assert result["counts"]["updated"] == 4
    assert [len(r["body"]["requests"]) for r in batches(proxy)] == [2, 2, 2]


def test_a_job_survives_a_restart_of_the_app(proxy: Proxy, durable: DurableStandIn) -> None:
    proxy.sandbox.set_latency(300)
    etags = [stored(proxy, seeded(proxy, n))["@odata.etag"] for n in (0, 1)]
    updates = [
        {"id": seeded(proxy, n), "ifMatch": etags[n], "changes": {"comment": f"restart {n}"}}
        for n in (0, 1)
    ]
    started = start(proxy, updates)
    proxy.sandbox.wait_for_concurrency(current=1)  # the batch is with Business Central
    assert durable.restart_sync() == 1  # the worker dies; the activity runs again
    result = finished(proxy, durable, started)
    assert len(batches(proxy)) == 2
    for n, item in enumerate(result["items"]):
        now = stored(proxy, seeded(proxy, n))
        assert now["comment"] == f"restart {n}"
        # Written once (the second batch met its If-Match), and never called failed.
        assert item["outcome"] in ("updated", "unknown")
        current = item["line"] if item["outcome"] == "updated" else item["problem"]["current"]
        assert current["etag"] == now["@odata.etag"]


def test_a_job_that_cannot_run_is_failed_and_sends_no_more(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    configure(BULK_BATCH_SIZE="1", BULK_MAX_CONCURRENCY="1")
    proxy.sandbox.add_faults(
        {"method": "POST", "path": "$batch", "times": 2, "status": 401,
         "code": "Authentication_InvalidCredentials"}
    )  # fmt: skip
    before = [stored(proxy, seeded(proxy, n)) for n in range(3)]
    updates = [
        {"id": seeded(proxy, n), "ifMatch": "*", "changes": {"comment": "never"}} for n in range(3)
    ]
    result = finished(proxy, durable, start(proxy, updates))
    assert result["status"] == "Failed"
    assert {(i["outcome"], i["status"]) for i in result["items"]} == {("failed", 502)}
    assert {i["problem"]["type"].rsplit("#", 1)[1] for i in result["items"]} == {
        "upstream-auth-failed"
    }
    # One batch, sent twice (a fresh token after the first 401); the rest never sent.
    assert len(batches(proxy)) == 2
    assert [stored(proxy, seeded(proxy, n)) for n in range(3)] == before


def test_status_polls_read_the_instance_without_its_input(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    """The job's input holds every update; a poll needs only the custom status
    (running) or the output (finished), so no poll asks for the input."""
    ids = proxy.sandbox.add_lines(50)
    updates = [{"id": line, "ifMatch": "*", "changes": {"description": "x" * 100}} for line in ids]
    started = start(proxy, updates, key="polls-without-input")
    assert started.status_code == 202, started.text
    job_id = started.json()["jobId"]
    durable.status_reads.clear()
    running = httpx.get(started.headers["Location"], timeout=30)
    assert running.status_code in (200, 202), running.text
    result = finished(proxy, durable, started)
    assert result["counts"]["updated"] == 50
    polls = [shown for instance, shown in durable.status_reads if instance == job_id]
    assert len(polls) >= 2
    assert polls == [False] * len(polls)
    # What those polls were spared: the same status with the input is far larger.
    view = durable.engine.view(job_id)
    assert view is not None
    with_input = len(dumps_exact(view.status_json(show_input=True)))
    without = len(dumps_exact(view.status_json(show_input=False)))
    assert with_input - without > 50 * 100


@pytest.mark.parametrize("if_match", ["etag", "strong", "*"])
def test_a_lost_batch_of_100_is_settled_in_two_requests(
    proxy: Proxy, durable: DurableStandIn, configure: Configure, if_match: str
) -> None:
    """The only $batch of 100 is dropped before Business Central runs it, at
    600 ms per request: one batched read shows none applied, one batch sends
    them again. Every item is updated; none is left unknown."""
    configure(BULK_BATCH_SIZE="100")
    ids = proxy.sandbox.add_lines(100)
    etags = {line: stored(proxy, line)["@odata.etag"] for line in ids}

    def sent_if_match(line: str) -> str:
        if if_match == "*":
            return "*"
        etag = str(etags[line])
        return etag if if_match == "etag" else etag.removeprefix("W/")

    proxy.sandbox.add_faults({"method": "POST", "path": "$batch", "times": 1, "drop": "before"})
    proxy.sandbox.set_latency(600)
    proxy.sandbox.clear_requests()
    updates = [
        {"id": line, "ifMatch": sent_if_match(line), "changes": {"comment": f"lost {n}"}}
        for n, line in enumerate(ids)
    ]
    try:
        result = finished(proxy, durable, start(proxy, updates))
    finally:
        proxy.sandbox.set_latency(0)
    assert result["counts"] == {"updated": 100, "failed": 0, "unknown": 0}
    log = bc_requests(proxy.sandbox)
    # The lost batch, then one batched read and one batch that writes.
    assert [(r["method"], r["processedStatus"]) for r in log] == [
        ("POST", None),
        ("POST", 200),
        ("POST", 200),
    ]
    assert [len(r["body"]["requests"]) for r in batches_of(proxy.sandbox, "GET")] == [100]
    assert [len(r["body"]["requests"]) for r in batches_of(proxy.sandbox, "PATCH")] == [100, 100]
    for n, line in enumerate(ids):
        assert stored(proxy, line)["comment"] == f"lost {n}"


def test_a_job_stopped_by_401_after_a_lost_batch_reports_no_applied_item_failed(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    """The first $batch is applied but its answer lost; from then on Business
    Central answers 401 to everything. The refusals prove nothing about the
    lost batch: its items are unknown, never failed, and nothing is resent."""
    configure(BULK_BATCH_SIZE="50", BULK_MAX_CONCURRENCY="1")
    ids = proxy.sandbox.add_lines(100)
    proxy.sandbox.clear_requests()
    proxy.sandbox.add_faults(
        {"method": "POST", "path": "$batch", "times": 1, "drop": "after"},
        {"path": "/api/v2.0/", "times": 1000, "status": 401, "code": "Unauthorized"},
    )
    updates = [
        {"id": line, "ifMatch": "*", "changes": {"comment": f"stop {n}"}}
        for n, line in enumerate(ids)
    ]
    try:
        result = finished(proxy, durable, start(proxy, updates))
    finally:
        proxy.sandbox.clear_faults()
    applied = {
        op["url"].rsplit("(", 1)[1].rstrip(")")
        for r in batches_of(proxy.sandbox, "PATCH")
        if r["processedStatus"] == 200
        for op in r["body"]["requests"]
    }
    assert applied == set(ids[:50])
    for item in result["items"]:
        if item["id"] in applied:
            assert (item["outcome"], item["status"]) == ("unknown", 504), item
        else:
            # The second batch was refused whole: it is not in Business Central.
            assert item["outcome"] == "failed", item
            assert item["problem"]["type"].endswith("#upstream-auth-failed")
    assert result["counts"] == {"updated": 0, "failed": 50, "unknown": 50}
    # Only the first batch ever wrote; the refused one and the reads changed nothing.
    assert [stored(proxy, line)["comment"] for line in ids[:50]] == [f"stop {n}" for n in range(50)]
    assert all(
        stored(proxy, line)["comment"] != f"stop {n + 50}" for n, line in enumerate(ids[50:])
    )


def test_a_timer_due_after_the_stop_sends_nothing(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    """One batch is throttled (its resend waits on a timer), the other is
    refused the proxy's identity, which stops the job. When the timer fires,
    nothing is sent: the throttled items fail with the stop's problem."""
    configure(BULK_BATCH_SIZE="2", BULK_MAX_CONCURRENCY="2")
    ids = proxy.sandbox.add_lines(4)
    proxy.sandbox.clear_requests()
    proxy.sandbox.add_faults(
        {"method": "POST", "path": "$batch", "times": 1, "status": 429, "retryAfter": 30},
        {"method": "POST", "path": "$batch", "times": 10, "status": 401, "code": "Unauthorized"},
    )
    updates = [{"id": line, "ifMatch": "*", "changes": {"comment": "never"}} for line in ids]
    started = start(proxy, updates)
    assert started.status_code == 202, started.text
    durable.wait_idle_sync()
    before_timer = len(bc_requests(proxy.sandbox))
    durable.advance(31)
    result = finished(proxy, durable, started)
    proxy.sandbox.clear_faults()
    assert len(bc_requests(proxy.sandbox)) == before_timer
    assert result["counts"] == {"updated": 0, "failed": 4, "unknown": 0}
    assert {item["problem"]["type"].rsplit("#", 1)[-1] for item in result["items"]} == {
        "upstream-auth-failed"
    }
    assert [stored(proxy, line)["comment"] for line in ids] == [""] * 4


def test_a_finished_job_started_again_shows_its_real_status(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    updates = [{"id": seeded(proxy, 1), "ifMatch": "*", "changes": {"comment": "done"}}]
    first = start(proxy, updates, key="finished-again")
    assert first.json()["status"] == "Running"
    finished(proxy, durable, first)
    again = start(proxy, updates, key="finished-again")
    # Still the asynchronous pattern's 202 and Location, with the truth in the body.
    assert again.status_code == 202
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json()["status"] == "Completed"
