"""The application check in bulk jobs: each problem for an item, the reads
grouped into one request per $batch of updates (counted from the sandbox's
request log), validateOnly, a check that could not be made, and an amount
rounded to a yen line's currency after a lost batch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from funchost.durable import DurableStandIn
from tests.support.bulk_jobs import finished, seeded, start, stored
from tests.support.proxy import Configure, Proxy, batches_of, bc_requests

pytestmark = pytest.mark.e2e

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def slug(item: dict[str, Any]) -> str:
    return str(item["problem"]["type"]).rsplit("#", 1)[1]


def invoices(proxy: Proxy) -> dict[str, dict[str, Any]]:
    return {i["number"]: i for i in proxy.sandbox.seed["companies"][0]["invoices"]}


def check_reads(proxy: Proxy) -> list[dict[str, Any]]:
    """The $batch requests of GETs that check (the batched read-backs after a
    lost batch are GETs of lines by key, never filtered)."""
    return [r for r in batches_of(proxy.sandbox, "GET") if "$filter" in str(r["body"])]


def test_each_problem_fails_its_item_and_the_others_go_through(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    # Generated lines pay customers 10000, 20000, 30000, 40000, 50000, 80000 in turn.
    lines = proxy.sandbox.add_lines(8)
    third = seeded(proxy, 2)  # customer 30000
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        (lines[0], {"appliesToInvoiceNumber": "999999"}, "invoice-not-found"),
        (
            lines[1],
            {"customerId": EMPTY_GUID, "appliesToInvoiceNumber": "1001"},
            "invoice-not-posted",
        ),
        (lines[6], {"appliesToInvoiceNumber": "103004"}, "invoice-fully-paid"),
        (lines[2], {"appliesToInvoiceNumber": "103002"}, "invoice-customer-mismatch"),
        (
            lines[3],
            {"customerNumber": "10000", "appliesToInvoiceNumber": "103011"},
            "invoice-currency-mismatch",
        ),
        (lines[4], {"customerNumber": "70000"}, "customer-blocked"),
        (lines[5], {"customerNumber": "99999"}, "customer-not-found"),
        (third, {"appliesToInvoiceNumber": "103003"}, None),
        (lines[7], {"amount": Decimal("12.5")}, None),
    ]
    updates = [{"id": line, "ifMatch": "*", "changes": changes} for line, changes, _ in cases]
    result = finished(proxy, durable, start(proxy, updates))
    assert result["status"] == "CompletedWithErrors"
    for item, (line, _, wanted) in zip(result["items"], cases, strict=True):
        assert item["id"] == line
        if wanted is None:
            assert item["outcome"] == "updated", item
        else:
            assert (item["outcome"], item["status"], slug(item)) == ("failed", 422, wanted)
            assert item["applicationCheck"] == {"status": "failed"}
    assert result["items"][-2]["applicationCheck"]["status"] == "passed"
    assert "applicationCheck" not in result["items"][-1]  # an amount alone: not checked
    assert stored(proxy, third)["appliesToInvoiceNumber"] == "103003"
    # One read checked every update of the batch; only the passing ones were sent.
    assert len(check_reads(proxy)) == 1
    [written] = batches_of(proxy.sandbox, "PATCH")
    assert len(written["body"]["requests"]) == 2


def test_a_paid_invoice_in_its_own_job(proxy: Proxy, durable: DurableStandIn) -> None:
    update = {
        "id": seeded(proxy, 0),
        "ifMatch": "*",
        "changes": {"appliesToInvoiceNumber": "103004"},
    }
    [item] = finished(proxy, durable, start(proxy, [update]))["items"]
    assert (item["outcome"], slug(item)) == ("failed", "invoice-fully-paid")
    assert batches_of(proxy.sandbox, "PATCH") == []


@pytest.mark.parametrize(("size", "batches"), [("100", 1), ("50", 2)])
def test_the_reads_are_grouped_one_request_per_batch_of_updates(
    proxy: Proxy, durable: DurableStandIn, configure: Configure, size: str, batches: int
) -> None:
    configure(BULK_BATCH_SIZE=size)
    lines = proxy.sandbox.add_lines(100)
    open_of = {"10000": "103001", "20000": "103002", "30000": "103003", "40000": "103005"}
    numbers = list(open_of)
    updates = []
    for n, line in enumerate(lines):
        customer = numbers[n % len(numbers)]
        changes = {"customerNumber": customer, "appliesToInvoiceNumber": open_of[customer]}
        updates.append({"id": line, "ifMatch": "*", "changes": changes})
    proxy.sandbox.clear_requests()
    result = finished(proxy, durable, start(proxy, updates))
    assert result["counts"] == {"updated": 100, "failed": 0, "unknown": 0}
    assert all(i["applicationCheck"]["status"] == "passed" for i in result["items"])
    reads = check_reads(proxy)
    assert len(reads) == batches
    # Per batch: one read of its customers by number, one of its invoices by number.
    assert [len(r["body"]["requests"]) for r in reads] == [2] * batches
    assert len(batches_of(proxy.sandbox, "PATCH")) == batches
    assert len(bc_requests(proxy.sandbox)) == 2 * batches


def test_updates_that_touch_neither_cost_no_read(proxy: Proxy, durable: DurableStandIn) -> None:
    lines = proxy.sandbox.add_lines(20)
    proxy.sandbox.clear_requests()
    updates = [{"id": line, "ifMatch": "*", "changes": {"comment": "x"}} for line in lines]
    result = finished(proxy, durable, start(proxy, updates))
    assert result["counts"]["updated"] == 20
    assert [r["method"] for r in bc_requests(proxy.sandbox)] == ["POST"]
    assert check_reads(proxy) == []


def test_a_check_not_made_is_named_on_each_item_and_they_go_ahead(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    proxy.sandbox.add_faults(
        {
            "method": "POST",
            "path": "$batch",
            "times": 1,
            "status": 500,
            "code": "Internal_ServerError",
        }
    )
    update = {
        "id": seeded(proxy, 0),
        "ifMatch": "*",
        "changes": {"appliesToInvoiceNumber": "103009"},
    }
    [item] = finished(proxy, durable, start(proxy, [update]))["items"]
    assert item["outcome"] == "updated", item
    assert item["applicationCheck"]["status"] == "not-made"
    assert "could not be read" in item["applicationCheck"]["reason"]


def test_validate_only_checks_every_update_and_lists_the_refusals(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    updates = [
        {"id": seeded(proxy, 0), "ifMatch": "*", "changes": {"appliesToInvoiceNumber": "103009"}},
        {"id": seeded(proxy, 1), "ifMatch": "*", "changes": {"appliesToInvoiceNumber": "103004"}},
        {"id": seeded(proxy, 2), "ifMatch": "*", "changes": {"customerNumber": "70000"}},
    ]
    refused = start(proxy, updates, query="?validateOnly=true")
    assert refused.status_code == 422, refused.text
    errors = [(e["field"], e["code"]) for e in refused.json()["errors"]]
    assert errors == [
        ("updates[1].changes.appliesToInvoiceNumber", "invoice_fully_paid"),
        ("updates[1].changes.appliesToInvoiceNumber", "invoice_customer_mismatch"),
        ("updates[2].changes.customerNumber", "customer_blocked"),
    ]
    fine = start(proxy, updates[:1], query="?validateOnly=true")
    assert fine.status_code == 200, fine.text
    assert fine.json() == {
        "valid": True,
        "total": 1,
        "applicationCheck": {"checked": 1, "notMade": []},
    }
    assert batches_of(proxy.sandbox, "PATCH") == []
    assert sum(durable.activity_runs.values()) == 0


def test_a_yen_amount_refused_when_the_currency_is_known(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    update = {
        "id": seeded(proxy, 2),
        "ifMatch": "*",
        "changes": {"customerNumber": "60000", "amount": Decimal("1000.5")},
    }
    [item] = finished(proxy, durable, start(proxy, [update]))["items"]
    assert (item["outcome"], slug(item)) == ("failed", "validation-failed")
    assert item["problem"]["errors"][0]["code"] == "too_many_decimals"


def test_a_rounded_yen_amount_after_a_lost_batch_is_held(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    line = seeded(proxy, 2)
    moved = httpx.patch(
        proxy.sandbox.line_url(line),
        json={"customerNumber": "60000"},
        headers={**proxy.sandbox.auth_headers(), "If-Match": "*"},
        timeout=10,
    )
    assert moved.status_code == 200
    etag = moved.json()["@odata.etag"]
    proxy.sandbox.add_faults({"method": "POST", "path": "$batch", "times": 1, "drop": "after"})
    update = {"id": line, "ifMatch": etag, "changes": {"amount": Decimal("1000.5")}}
    [item] = finished(proxy, durable, start(proxy, [update]))["items"]
    # Before: failed 412 "does not hold your update". The write is there, rounded.
    assert (item["outcome"], item["status"], slug(item)) == ("unknown", 409, "outcome-unknown")
    assert item["problem"]["current"]["amount"] == 1001
    assert stored(proxy, line)["amount"] == 1001
