"""Ranking the invoices a line may pay: the references in its texts, then reasons,
the gap and the due date."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.payment.matching import rank, text_tokens

ADATUM = "11111111-1111-1111-1111-111111111111"


def test_references_are_the_words_with_a_digit_upper_case_once() -> None:
    line = {
        "description": "Payment INV-103001 and inv-103001, thanks",
        "documentNumber": "G00001",
        "externalDocumentNumber": "po/77.1",
    }
    assert text_tokens(line) == ["INV-103001", "G00001", "PO/77.1"]
    assert text_tokens({"description": "no numbers here"}) == []


def invoice(number: str, remaining: str, customer: str = ADATUM, **more: Any) -> dict[str, Any]:
    return {
        "id": number,
        "number": number,
        "customerId": customer,
        "customerNumber": "10000" if customer == ADATUM else "20000",
        "remainingAmount": Decimal(remaining),
        "currencyCode": "USD",
        "dueDate": "2026-02-01",
        **more,
    }


def test_the_ranking_on_reasons_then_the_gap_then_the_due_date() -> None:
    line = {"customerId": ADATUM, "amount": Decimal("100"), "description": "ref 900"}
    ranked = rank(
        line,
        [
            invoice("800", "100", customer="other"),
            invoice("700", "99.50"),
            invoice("900", "5", customer="other"),
            invoice("600", "100"),
            invoice("500", "100", currencyCode="JPY"),
        ],
        "USD",
        Decimal(1),
    )
    assert [s.invoice["number"] for s in ranked] == ["600", "900", "800", "700", "500"]
    assert [r.code for r in ranked[0].reasons] == ["same-customer-amount"]
    assert [r.code for r in ranked[3].reasons] == ["amount-within-tolerance", "same-customer"]
    # Another currency: no amount reason, only the customer.
    assert [r.code for r in ranked[4].reasons] == ["same-customer"]


def test_an_invoice_without_a_reason_is_not_suggested() -> None:
    line = {"customerId": ADATUM, "amount": Decimal(100)}
    assert rank(line, [invoice("1", "50", customer="other")], "USD", Decimal(1)) == []
