"""The application check's reads: what many updates name is read together, each kind
by one property in filters of at most CHUNK values, all in one $batch; an update that
names nothing costs nothing."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.payment.refs import ForwardHeaders
from shared.upstream.application import CHUNK, Update, check_budget_s, check_updates, local_step
from shared.upstream.attempts import Budget
from shared.upstream.runtime import get_runtime
from tests.support.fakes import COMPANY, JOURNAL, FakeBusinessCentral, answer_each

IDS = [f"{n:08x}-4444-4000-8000-000000000000" for n in range(1, 101)]


def filter_of(operation: dict[str, Any]) -> str:
    return str(parse_qs(urlsplit(operation["url"]).query)["$filter"][0])


async def check(updates: list[Update]) -> Any:
    bc = get_runtime().bc
    return await check_updates(
        bc, "v2.0", COMPANY, JOURNAL, updates, ForwardHeaders("check-1"), Budget(5),
        local_precision=Decimal("0.01"),
    )  # fmt: skip


async def test_what_a_hundred_updates_name_is_read_in_one_request(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = answer_each(lambda op: {"status": 200, "body": {"value": []}})
    updates = [
        Update(n, IDS[n], {"customerNumber": f"c{n}", "appliesToInvoiceNumber": f"i{n}"})
        for n in range(100)
    ]
    verdicts = await check(updates)
    (request,) = bc.requests
    operations = json.loads(request.content)["requests"]
    filters = [filter_of(op) for op in operations]
    per_read = [len(re.findall(r"\bnumber eq ", text)) for text in filters]
    assert sorted(per_read) == sorted([CHUNK, CHUNK, 100 - 2 * CHUNK] * 2)
    # Code values as Business Central stores them.
    assert "number eq 'C7'" in " ".join(filters)
    assert {urlsplit(op["url"]).path.rsplit("/", 1)[1] for op in operations} == {
        "customers",
        "salesInvoices",
    }
    assert sorted(verdicts) == list(range(100))
    # Each update is told of everything wrong with it, the customer first.
    assert {v.problem.slug for v in verdicts.values() if v.problem} == {"customer-not-found"}
    assert {tuple(e.code for e in v.problem.errors) for v in verdicts.values() if v.problem} == {
        ("customer_not_found", "invoice_not_found")
    }


async def test_an_update_that_names_nothing_is_not_checked(bc: FakeBusinessCentral) -> None:
    assert await check([Update(0, IDS[0], {"comment": "x", "amount": Decimal(1)})]) == {}
    assert bc.requests == []


async def test_a_read_that_failed_leaves_the_check_not_made(bc: FakeBusinessCentral) -> None:
    bc.responder = answer_each(lambda op: {"status": 500, "body": {}})
    verdicts = await check([Update(3, IDS[3], {"customerId": IDS[50]})])
    assert verdicts[3].status == "not-made"
    assert verdicts[3].reason is not None
    assert verdicts[3].reason.startswith("the customer could not be read")


def test_the_check_leaves_the_update_its_own_time() -> None:
    assert check_budget_s(30, 5, 5) == 20
    assert check_budget_s(8, 5, 5) == 0
    assert local_step(2) == Decimal("0.01")
    assert local_step(0) == Decimal(1)
