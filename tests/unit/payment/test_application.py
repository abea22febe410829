"""The application check's rule, on records as Business Central answers them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.payment.application import Needs, judge, needs, touches
from shared.process.problems import Problem

EMPTY = "00000000-0000-0000-0000-000000000000"
LOCAL = Decimal("0.01")
ADATUM = "11111111-1111-1111-1111-111111111111"
TREY = "22222222-2222-2222-2222-222222222222"


def customer(id_: str = ADATUM, number: str = "10000", **more: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "number": number,
        "currencyCode": "USD",
        "blocked": " ",
        "currency": None,
        **more,
    }


def invoice(**more: Any) -> dict[str, Any]:
    return {
        "id": "33333333-3333-3333-3333-333333333333",
        "number": "103001",
        "status": "Open",
        "remainingAmount": Decimal("2000.5"),
        "customerId": ADATUM,
        "customerNumber": "10000",
        "currencyCode": "USD",
        "customer": customer(),
        "currency": None,
        **more,
    }


def test_only_an_update_naming_a_customer_or_an_invoice_is_checked() -> None:
    assert needs({"amount": Decimal(1), "comment": "x"}) is None
    assert not touches({"documentNumber": "G1"})
    assert needs({"appliesToInvoiceNumber": "inv-1"}) == Needs(invoice_number="INV-1", line=True)
    assert needs({"customerId": ADATUM.upper()}) == Needs(customer_id=ADATUM, line=True)
    # Both named: the line's own customer and invoice no longer matter.
    both = needs({"customerNumber": "c1", "appliesToInvoiceId": EMPTY})
    assert both == Needs(customer_number="C1", line=False)
    # Clearing names nothing to read.
    assert needs({"customerId": EMPTY, "appliesToInvoiceNumber": ""}) == Needs()


def verdict_of(changes: dict[str, Any], **records: Any) -> Any:
    wanted = needs(changes)
    assert wanted is not None
    return judge(changes, wanted, local_precision=LOCAL, **records)


@pytest.mark.parametrize(
    ("record", "slug"),
    [
        (None, "invoice-not-found"),
        (invoice(status="Draft"), "invoice-not-posted"),
        (invoice(status="Paid", remainingAmount=0), "invoice-fully-paid"),
        (invoice(status="Canceled", remainingAmount=0), "invoice-fully-paid"),
        (invoice(currencyCode="JPY"), "invoice-currency-mismatch"),
        (invoice(customer=customer(blocked="All")), "customer-blocked"),
    ],
)
def test_each_invoice_finding(record: Any, slug: str) -> None:
    verdict = verdict_of({"appliesToInvoiceNumber": "103001"}, invoice=record, line=None)
    assert verdict.status == "failed"
    assert verdict.problem.slug == slug
    assert verdict.problem.status == 422
    assert verdict.problem.errors[0].field == "appliesToInvoiceNumber"


def test_the_invoice_must_be_the_customers_the_update_or_the_line_names() -> None:
    named = verdict_of(
        {"customerId": TREY, "appliesToInvoiceNumber": "103001"},
        invoice=invoice(),
        customer=customer(TREY, "20000"),
    )
    assert named.problem.slug == "invoice-customer-mismatch"
    assert "customer 20000 that the update names" in named.problem.detail
    lines = verdict_of(
        {"appliesToInvoiceNumber": "103001"},
        invoice=invoice(),
        line={"customerId": TREY, "customerNumber": "20000", "appliesToInvoiceId": EMPTY},
    )
    assert "the line names" in lines.problem.detail
    # A line without a customer takes the invoice's.
    empty = {"customerId": EMPTY, "customerNumber": "", "appliesToInvoiceId": EMPTY}
    assert verdict_of({"appliesToInvoiceNumber": "103001"}, invoice=invoice(), line=empty).made


def test_only_all_blocks_a_payment_and_a_missing_customer_is_named() -> None:
    for blocked, slug in (
        (" ", None),
        ("Ship", None),
        ("Invoice", None),
        ("All", "customer-blocked"),
    ):
        verdict = verdict_of(
            {"customerNumber": "10000"},
            customer=customer(blocked=blocked),
            line={"appliesToInvoiceId": EMPTY},
        )
        assert (verdict.problem.slug if verdict.problem else None) == slug
    missing = verdict_of(
        {"customerNumber": "99999"}, customer=None, line={"appliesToInvoiceId": EMPTY}
    )
    assert missing.problem.slug == "customer-not-found"


def test_several_findings_are_all_listed_the_first_named() -> None:
    verdict = verdict_of(
        {"customerId": TREY, "appliesToInvoiceNumber": "103001"},
        invoice=invoice(status="Paid", remainingAmount=0),
        customer=customer(TREY, "20000", blocked="All"),
    )
    assert verdict.problem.slug == "invoice-fully-paid"
    assert [e.code for e in verdict.problem.errors] == [
        "invoice_fully_paid",
        "invoice_customer_mismatch",
        "customer_blocked",
    ]


def test_a_read_that_failed_makes_the_check_not_made_never_passed() -> None:
    failed = Problem("upstream-unavailable", "down")
    verdict = verdict_of({"appliesToInvoiceNumber": "103001"}, invoice=failed, line=None)
    assert (verdict.status, verdict.made, verdict.problem) == ("not-made", False, None)
    assert "invoice could not be read (upstream-unavailable)" in str(verdict.reason)


def test_the_line_currency_and_its_step_hold_the_amount() -> None:
    yen = invoice(
        currencyCode="JPY",
        currency={"amountRoundingPrecision": 1},
        customer=customer(currencyCode="JPY"),
    )
    refused = verdict_of(
        {"appliesToInvoiceNumber": "103001", "amount": Decimal("1000.5")}, invoice=yen, line=None
    )
    assert refused.problem.slug == "validation-failed"
    [error] = refused.problem.errors
    assert (error.field, error.code) == ("amount", "too_many_decimals")
    assert "whole units" in error.message
    assert "1001" in error.message
    fine = verdict_of(
        {"appliesToInvoiceNumber": "103001", "amount": Decimal(1000)}, invoice=yen, line=None
    )
    assert (fine.status, fine.currency, fine.precision) == ("passed", "JPY", Decimal(1))
    # The local currency has no row: its step is the deployment's.
    local = verdict_of(
        {"appliesToInvoiceNumber": "103001", "amount": Decimal("1.005")},
        invoice=invoice(),
        line=None,
    )
    assert local.problem.errors[0].code == "too_many_decimals"


def test_a_customer_change_on_a_line_that_pays_an_invoice_knows_no_currency() -> None:
    applied = {"appliesToInvoiceId": "33333333-3333-3333-3333-333333333333"}
    verdict = verdict_of(
        {"customerNumber": "10000", "amount": Decimal("1.005")}, customer=customer(), line=applied
    )
    assert (verdict.status, verdict.currency) == ("passed", None)
