"""The application check of one update: nothing read for an update that names no
customer or invoice, the PATCH's own time kept, a check that could not be made named
as such, and the line's currency for validate-only of an amount."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.lines.checking import (
    CHECK_HEADER,
    check_application,
    check_headers,
    currency_of_line,
)
from shared.payment.application import Verdict, not_made
from shared.payment.refs import ForwardHeaders, PaymentRef
from shared.process.settings import current_settings
from shared.upstream.attempts import Budget
from shared.upstream.runtime import get_runtime
from tests.support.fakes import (
    COMPANY,
    JOURNAL,
    PAYMENT,
    FakeBusinessCentral,
    answer_each,
    bc_error,
    bc_line,
    exact,
)

REF = PaymentRef("v2.0", COMPANY, JOURNAL, PAYMENT)
FORWARD = ForwardHeaders("check-1")
CUSTOMER = "9c6f4d21-4e5f-4071-9c23-3d4e5f607182"
INVOICE = "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


async def check(changes: dict[str, Any], budget: Budget, before_patch: bool = False) -> Any:
    return await check_application(
        current_settings(), get_runtime().bc, REF, changes, FORWARD, budget,
        before_patch=before_patch,
    )  # fmt: skip


async def test_an_update_naming_no_customer_or_invoice_costs_nothing(
    bc: FakeBusinessCentral,
) -> None:
    assert await check({"comment": "x", "amount": Decimal(5)}, Budget(2)) is None
    assert bc.requests == []
    assert check_headers(None) == {}


async def test_before_a_patch_the_check_leaves_it_its_minimum_and_reserve(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = answer_each(lambda op: {"status": 200, "body": {"value": []}})
    # The unit settings keep 0.5 s for the attempt and 0.5 s for a read-back.
    verdict = await check({"customerId": CUSTOMER}, Budget(0.9), before_patch=True)
    assert verdict is not None
    assert (verdict.status, verdict.reason) == (
        "not-made",
        "no time was left to read from Business Central",
    )
    assert bc.requests == []
    assert check_headers(verdict) == {
        CHECK_HEADER: "not-made; reason=no time was left to read from Business Central"
    }
    # Validate-only sends nothing after the check: the same time is enough for it.
    # (No invoice: the customer alone is read, not the line.)
    refused = await check({"customerId": CUSTOMER, "appliesToInvoiceNumber": ""}, Budget(0.9))
    assert refused is not None
    assert refused.problem is not None
    assert refused.problem.slug == "customer-not-found"
    assert len(bc.requests) == 1


def test_a_passed_check_is_named_without_a_reason() -> None:
    assert check_headers(Verdict("passed")) == {CHECK_HEADER: "passed"}
    assert check_headers(not_made("why")) == {CHECK_HEADER: "not-made; reason=why"}


def line_then(record: dict[str, Any] | None, **line: Any) -> Any:
    """Business Central answering the line, then the $batch reading its record."""

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("$batch"):
            value = [] if record is None else [record]
            return answer_each(lambda op: {"status": 200, "body": {"value": value}})(request)
        return exact(200, bc_line(**{"amount": Decimal("10"), **line}))

    return respond


@pytest.mark.parametrize(
    ("line", "record", "currency", "precision"),
    [
        ({"customerId": CUSTOMER}, {"currencyCode": "", "currency": None}, "", Decimal("0.01")),
        (
            {"appliesToInvoiceId": INVOICE},
            {"currencyCode": "JPY", "currency": {"amountRoundingPrecision": 1}},
            "JPY",
            Decimal(1),
        ),
    ],
)
async def test_the_lines_currency_comes_from_its_invoice_or_else_its_customer(
    bc: FakeBusinessCentral,
    line: dict[str, Any],
    record: dict[str, Any],
    currency: str,
    precision: Decimal,
) -> None:
    bc.responder = line_then(record, **line)
    verdict = await currency_of_line(current_settings(), get_runtime().bc, REF, FORWARD, Budget(2))
    assert (verdict.status, verdict.currency, verdict.precision) == ("passed", currency, precision)
    read = bc.requests[-1].content.decode()
    assert ("salesInvoices" in read) == ("appliesToInvoiceId" in line)


async def test_a_line_without_a_customer_holds_its_amount_to_nothing(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = line_then(None, customerId="00000000-0000-0000-0000-000000000000")
    verdict = await currency_of_line(current_settings(), get_runtime().bc, REF, FORWARD, Budget(2))
    assert (verdict.status, verdict.currency) == ("passed", None)
    assert len(bc.requests) == 1  # the line only


async def test_a_currency_that_could_not_be_read_is_a_check_not_made(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = lambda request: bc_error(404, "BadRequest_NotFound", "No line.")
    verdict = await currency_of_line(current_settings(), get_runtime().bc, REF, FORWARD, Budget(2))
    assert (verdict.status, verdict.reason) == (
        "not-made",
        "the payment line could not be read (not-found)",
    )
    bc.responder = line_then(None, customerId=CUSTOMER)
    missing = await currency_of_line(current_settings(), get_runtime().bc, REF, FORWARD, Budget(2))
    assert (missing.status, missing.reason) == ("not-made", "the line's customer could not be read")
