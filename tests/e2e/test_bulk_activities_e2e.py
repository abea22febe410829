"""The bulk job's activities against the sandbox: the real $batch, the real
managed-identity credential and httpx. Each item's outcome is checked
against the sandbox's own state and request log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.functions.bulk import send_batch as send_batch_activity
from shared.functions.bulk import settle_items as settle_items_activity
from shared.process.jsonio import dumps_exact, loads_exact
from shared.upstream import runtime as runtime_module
from tests.support.proxy import Proxy, batches_of

pytestmark = pytest.mark.e2e


@pytest.fixture
async def sandbox_proxy(proxy: Proxy) -> AsyncIterator[Proxy]:
    """The proxy's settings, with this test's event loop owning its clients."""
    yield proxy
    await runtime_module.aclose_runtime()


def line(proxy: Proxy, index: int) -> dict[str, Any]:
    url = proxy.sandbox.payment_url("v2.0", 0, 0, index)
    response = httpx.get(url, headers=proxy.sandbox.auth_headers(), timeout=10)
    response.raise_for_status()
    data: dict[str, Any] = loads_exact(response.content)
    return data


def someone_else_writes(proxy: Proxy, index: int) -> None:
    httpx.patch(
        proxy.sandbox.payment_url("v2.0", 0, 0, index),
        headers={**proxy.sandbox.auth_headers(), "If-Match": "*"},
        json={"comment": "someone else"},
        timeout=10,
    ).raise_for_status()


def payload(proxy: Proxy, items: list[dict[str, Any]]) -> str:
    ids = proxy.line()
    return dumps_exact(
        {
            "jobId": "0123456789abcdef0123456789abcdef",
            "version": "v2.0",
            "companyId": ids["company"],
            "journalId": ids["journal"],
            "docsUrl": "https://docs.example.test/problems",
            "items": items,
        }
    ).decode()


def item(proxy: Proxy, index: int, if_match: str, **changes: Any) -> dict[str, Any]:
    payment = proxy.sandbox.seed["companies"][0]["journals"][0]["payments"][index]["id"]
    return {"index": index, "id": payment, "ifMatch": if_match, "changes": changes}


async def run(activity: Any, text: str) -> dict[str, Any]:
    # What the orchestrator decides on, a line break, then the item results packed as
    # one exact JSON text (see answer_text and pack_settled).
    head, _, packed = (await activity(text)).partition("\n")
    result: dict[str, Any] = loads_exact(head.encode())
    result["settled"] = loads_exact(packed.encode())
    assert sorted(int(i) for i in result["settled"]) == result["settledIndexes"]
    return result


def batches(proxy: Proxy) -> list[dict[str, Any]]:
    """The batches that write (the batched reads that settle are not counted)."""
    return batches_of(proxy.sandbox, "PATCH")


async def test_one_batch_each_operation_its_own_verdict(sandbox_proxy: Proxy) -> None:
    proxy = sandbox_proxy
    stale = line(proxy, 1)["@odata.etag"]
    someone_else_writes(proxy, 1)
    before = line(proxy, 1)
    text = payload(
        proxy,
        [
            item(proxy, 0, line(proxy, 0)["@odata.etag"], amount=Decimal("12.34")),
            item(proxy, 1, stale, amount=Decimal("99")),
            # Line 1's number: Business Central refuses it (an unknown customer would
            # be refused by the application check before the batch).
            item(proxy, 2, "*", lineNumber=10000),
        ],
    )
    proxy.sandbox.clear_requests()
    answer = await run(send_batch_activity, text)
    sent = batches(proxy)
    assert len(sent) == 1
    assert sent[0]["headers"]["prefer"] == "odata.continue-on-error"
    assert "isolation" not in sent[0]["headers"]
    assert [op["headers"]["If-Match"] for op in sent[0]["body"]["requests"]][1] == stale
    # The stale one is read before it is judged (it may have been our own write).
    assert answer["unknown"] == [1]
    assert answer["settled"]["0"]["outcome"] == "updated"
    assert answer["settled"]["0"]["line"]["amount"] == Decimal("12.34")
    assert answer["settled"]["0"]["etag"] == line(proxy, 0)["@odata.etag"]
    assert answer["settled"]["2"]["status"] == 422
    assert answer["settled"]["2"]["problem"]["type"].endswith("#upstream-rejected")
    settled = await run(settle_items_activity, payload(proxy, [item(proxy, 1, stale, amount=99)]))
    assert settled["settled"]["1"]["status"] == 412
    assert line(proxy, 1) == before  # nothing of the refused updates was applied


async def test_a_failing_operation_does_not_stop_the_others(sandbox_proxy: Proxy) -> None:
    """With a Business Central that stops at the first failure unless asked to
    continue, the header the proxy sends keeps the rest running. (One that
    stops anyway is handled too: see the unit tests for missing responses.)"""
    proxy = sandbox_proxy
    proxy.sandbox.set_batch_on_error("stop")
    text = payload(
        proxy,
        [
            item(proxy, 0, "*", comment="first"),
            item(proxy, 1, "*", lineNumber=10000),  # taken: Business Central refuses it
            item(proxy, 2, "*", comment="third"),
        ],
    )
    answer = await run(send_batch_activity, text)
    assert answer["settled"]["0"]["outcome"] == "updated"
    assert answer["settled"]["1"]["outcome"] == "failed"
    assert answer["settled"]["2"]["outcome"] == "updated"
    assert answer["resend"] == []
    assert line(proxy, 2)["comment"] == "third"


async def test_a_throttled_batch_changes_nothing_and_says_how_long_to_wait(
    sandbox_proxy: Proxy,
) -> None:
    proxy = sandbox_proxy
    proxy.sandbox.add_faults(
        {"method": "POST", "path": "$batch", "times": 1, "status": 429,
         "code": "Application_TooManyRequests", "retryAfter": 3}
    )  # fmt: skip
    before = line(proxy, 0)
    answer = await run(send_batch_activity, payload(proxy, [item(proxy, 0, "*", comment="x")]))
    assert (answer["resend"], answer["retryAfter"]) == ([0], 3.0)
    assert answer["resendProblem"]["status"] == 429
    assert line(proxy, 0) == before


async def test_a_lost_batch_is_settled_item_by_item(sandbox_proxy: Proxy) -> None:
    proxy = sandbox_proxy
    etag = line(proxy, 0)["@odata.etag"]
    proxy.sandbox.add_faults({"method": "POST", "path": "$batch", "times": 1, "drop": "after"})
    items = [item(proxy, 0, etag, comment="lost"), item(proxy, 1, "*", comment="lost too")]
    answer = await run(send_batch_activity, payload(proxy, items))
    assert answer["unknown"] == [0, 1]
    settled = (await run(settle_items_activity, payload(proxy, items)))["settled"]
    # Applied under a new ETag: our write or someone's, the proxy cannot tell.
    assert settled["0"]["status"] == 409
    assert settled["0"]["problem"]["current"]["comment"] == "lost"
    # With * the same values are simply written again.
    assert settled["1"]["outcome"] == "updated"


async def test_a_repeated_batch_changes_nothing_twice(sandbox_proxy: Proxy) -> None:
    proxy = sandbox_proxy
    etag = line(proxy, 0)["@odata.etag"]
    text = payload(proxy, [item(proxy, 0, etag, amount=Decimal("5.55"))])
    first = await run(send_batch_activity, text)
    assert first["settled"]["0"]["outcome"] == "updated"
    after_first = line(proxy, 0)
    # Durable runs an activity at least once: the same batch again.
    again = await run(send_batch_activity, text)
    assert again["unknown"] == [0]
    settled = (await run(settle_items_activity, text))["settled"]["0"]
    assert settled["outcome"] == "unknown"
    assert settled["problem"]["current"]["etag"] == after_first["@odata.etag"]
    # Sent twice, written once: the line (and its ETag) is as the first run left it.
    assert line(proxy, 0) == after_first
    assert len(batches(proxy)) == 2
