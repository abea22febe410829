"""A bulk request that only validates: the application check of every update that
names a customer or an invoice, their reads grouped, each refusal under its update's
path in one 422, and the checks that could not be made listed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.bulk.checks import check_all
from shared.http.admit import Admitted
from shared.http.messages import CoreRequest
from shared.process.problems import Problem
from shared.process.settings import current_settings
from shared.upstream.batch import Operation
from shared.upstream.runtime import get_runtime
from tests.support.fakes import COMPANY, JOURNAL, FakeBusinessCentral, answer_each

IDS = [f"{n:08x}-5555-4000-8000-000000000000" for n in range(1, 6)]
CUSTOMER = "9c6f4d21-4e5f-4071-9c23-3d4e5f607182"
ADMITTED = Admitted(
    CoreRequest("POST", {}, {"x-request-id": "bulk-check-1"}),
    "bulk-check-1",
    "v2.0",
    COMPANY,
    JOURNAL,
    None,
    "function-key",
)


def item(index: int, **changes: Any) -> Operation:
    return Operation(index, IDS[index], "*", changes)


async def check(items: list[Operation]) -> dict[str, Any]:
    return await check_all(current_settings(), get_runtime().bc, ADMITTED, items)


async def test_updates_that_name_nothing_are_valid_without_a_read(bc: FakeBusinessCentral) -> None:
    assert await check([item(0, comment="a"), item(1, amount=Decimal(2))]) == {
        "valid": True,
        "total": 2,
    }
    assert bc.requests == []


async def test_every_refusal_is_named_under_its_updates_path(bc: FakeBusinessCentral) -> None:
    bc.responder = answer_each(lambda op: {"status": 200, "body": {"value": []}})
    items = [
        item(0, comment="a"),
        item(1, customerNumber="NOPE", appliesToInvoiceNumber=""),
        item(2, appliesToInvoiceNumber="404", customerNumber="NOPE2"),
    ]
    with pytest.raises(Problem) as raised:
        await check(items)
    assert raised.value.slug == "validation-failed"
    assert [(e.field, e.code) for e in raised.value.errors] == [
        ("updates[1].changes.customerNumber", "customer_not_found"),
        ("updates[2].changes.customerNumber", "customer_not_found"),
        ("updates[2].changes.appliesToInvoiceNumber", "invoice_not_found"),
    ]
    assert len(bc.requests) == 1  # the reads of all of them, together


async def test_checks_that_could_not_be_made_are_listed_not_passed(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = answer_each(lambda op: {"status": 500, "body": {}})
    body = await check([item(0, comment="a"), item(3, customerId=CUSTOMER, appliesToInvoiceId="")])
    assert body["valid"] is True
    assert body["applicationCheck"]["checked"] == 1
    (not_made,) = body["applicationCheck"]["notMade"]
    assert (not_made["index"], not_made["status"]) == (3, "not-made")
    assert not_made["reason"].startswith("the customer could not be read")
