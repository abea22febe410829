"""Large bulk jobs end to end (the local host, the Durable stand-in driving the real SDK
on a virtual clock, the sandbox's $batch): a step sends several batches once a job has
many, so the orchestrator replays a bounded number of episodes; a finished job's items
come a page at a time, the counts always whole."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from funchost.durable import DurableStandIn
from shared.bulk.job import STEPS_PER_SLOT
from shared.process.jsonio import loads_exact
from tests.support.bulk_jobs import finished, start, stored
from tests.support.proxy import Configure, Proxy, batches_of, slug_of, throttled_batch

pytestmark = pytest.mark.e2e

# A rule that takes the first $batch and lets it be processed (a fault rule after it
# then takes the second).
FIRST_BATCH_PASSES = {"method": "POST", "path": "$batch", "times": 1, "delayMs": 1}


def updates_for(ids: list[str], tag: str) -> list[dict[str, Any]]:
    return [
        {"id": line, "ifMatch": "*", "changes": {"comment": f"{tag} {n}"}, "clientRef": str(n)}
        for n, line in enumerate(ids)
    ]


def test_a_job_of_many_batches_sends_several_a_step_and_replays_few_episodes(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    # 30 batches of 2 through a window of 2: 3 batches a step, 10 steps.
    configure(BULK_BATCH_SIZE="2", BULK_MAX_CONCURRENCY="2")
    ids = proxy.sandbox.add_lines(60)
    proxy.sandbox.set_latency(5, 1)
    proxy.sandbox.clear_requests()
    started = start(proxy, updates_for(ids, "scale"))
    result = finished(proxy, durable, started)
    assert result["counts"] == {"updated": 60, "failed": 0, "unknown": 0}
    assert [item["clientRef"] for item in result["items"]] == [str(n) for n in range(60)]
    assert all(stored(proxy, line)["comment"] == f"scale {n}" for n, line in enumerate(ids))
    sent = batches_of(proxy.sandbox, "PATCH")
    # As many requests as batches, none larger than the batch size, the window held.
    assert [len(r["body"]["requests"]) for r in sent] == [2] * 30
    assert proxy.sandbox.concurrency()["max"] <= 2
    view = durable.instance(started.json()["jobId"])
    assert view is not None
    steps = 2 * STEPS_PER_SLOT
    assert view.activity_runs["bulk_send_batch"] == steps
    # One episode to start and one a step: with one batch a step there would be 31.
    assert view.episodes == steps + 1


def test_a_throttled_batch_ends_its_step_and_the_rest_waits_for_the_timer(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    configure(BULK_BATCH_SIZE="2", BULK_MAX_CONCURRENCY="1")
    # 12 batches, one at a time: 3 batches a step.
    ids = proxy.sandbox.add_lines(24)
    proxy.sandbox.clear_requests()
    # The first step's first batch goes through; its second is throttled.
    proxy.sandbox.add_faults(FIRST_BATCH_PASSES, throttled_batch(30))
    started = start(proxy, updates_for(ids, "wait"))
    assert started.status_code == 202, started.text
    durable.wait_idle_sync()
    # The step stopped at the throttled batch: nothing after it was sent, and the job
    # waits on one durable timer.
    assert [r["processedStatus"] for r in batches_of(proxy.sandbox, "PATCH")] == [200, None]
    view = durable.instance(started.json()["jobId"])
    assert view is not None
    assert len(view.pending_timers) == 1
    durable.advance(31)
    result = finished(proxy, durable, started)
    assert result["counts"] == {"updated": 24, "failed": 0, "unknown": 0}
    sent = batches_of(proxy.sandbox, "PATCH")
    answered = [r for r in sent if r["processedStatus"] is not None]
    assert len(answered) == 12  # every batch ran once; only the refused one twice
    assert len(sent) == 13
    written = [op["body"]["comment"] for r in answered for op in r["body"]["requests"]]
    assert sorted(written) == sorted(f"wait {n}" for n in range(24))


def test_a_stop_in_a_step_fails_what_the_step_had_not_sent(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    configure(BULK_BATCH_SIZE="2", BULK_MAX_CONCURRENCY="1")
    ids = proxy.sandbox.add_lines(24)
    proxy.sandbox.clear_requests()
    # Business Central refuses the proxy's identity from the second batch on.
    proxy.sandbox.add_faults(
        FIRST_BATCH_PASSES,
        {"method": "POST", "path": "$batch", "times": 1000, "status": 401, "code": "Unauthorized"},
    )
    started = start(proxy, updates_for(ids, "stop"))
    assert started.status_code == 202, started.text
    try:
        result = finished(proxy, durable, started)
    finally:
        proxy.sandbox.clear_faults()
    applied = [r for r in batches_of(proxy.sandbox, "PATCH") if r["processedStatus"] == 200]
    written = {op["body"]["comment"] for r in applied for op in r["body"]["requests"]}
    for n, item in enumerate(result["items"]):
        if f"stop {n}" in written:
            assert item["outcome"] == "updated", item
        else:
            assert item["outcome"] == "failed", item
            assert item["problem"]["type"].endswith("#upstream-auth-failed")
    # One refused batch (sent again once with a fresh token), then nothing more.
    assert [r["processedStatus"] for r in batches_of(proxy.sandbox, "PATCH")] == [200, None, None]
    assert result["counts"] == {"updated": 2, "failed": 22, "unknown": 0}


def page(url: str) -> dict[str, Any]:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = loads_exact(answer.content)
    return data


def test_a_finished_jobs_items_come_a_page_at_a_time_with_whole_counts(
    proxy: Proxy, durable: DurableStandIn, configure: Configure
) -> None:
    configure(BULK_BATCH_SIZE="10")
    ids = proxy.sandbox.add_lines(25)
    updates = updates_for(ids, "page")
    updates[7]["ifMatch"] = 'W/"stale"'
    started = start(proxy, updates)
    whole = finished(proxy, durable, started)
    assert len(whole["items"]) == 25  # up to 1000 items: one page, as always
    assert "nextLink" not in whole
    location = started.headers["Location"]
    pages = [page(location + "&top=10")]
    while "nextLink" in pages[-1]:
        link = pages[-1]["nextLink"]
        assert urlsplit(link).netloc == urlsplit(proxy.url).netloc
        assert (
            parse_qs(urlsplit(link).query)["token"] == parse_qs(urlsplit(location).query)["token"]
        )
        pages.append(page(link))
    assert [len(p["items"]) for p in pages] == [10, 10, 5]
    expected = {"updated": 24, "failed": 1, "unknown": 0}
    for each in pages:
        assert (each["total"], each["counts"], each["status"]) == (
            25,
            expected,
            "CompletedWithErrors",
        )
    assert [item for p in pages for item in p["items"]] == whole["items"]
    assert page(location + "&skip=24")["items"] == whole["items"][24:]
    assert page(location + "&skip=30")["items"] == []


@pytest.mark.parametrize("query", ["&top=0", "&top=1001", "&skip=-1", "&top=ten", "&page=2"])
def test_paging_a_status_takes_only_whole_numbers_in_range(
    proxy: Proxy, durable: DurableStandIn, query: str
) -> None:
    ids = proxy.sandbox.add_lines(2)
    started = start(proxy, updates_for(ids, "bad"))
    finished(proxy, durable, started)
    answer = httpx.get(started.headers["Location"] + query, timeout=30)
    assert answer.status_code == 400
    assert slug_of(answer) == "invalid-query-parameter"
