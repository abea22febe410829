"""The lookups' documented shapes: a record passes with the properties Business
Central adds, amounts stay exact, what a picker needs is required, and each list
model is the one the route table documents for its kind."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.api.lookup_schemas import (
    CustomerList,
    SalesInvoiceList,
    SuggestionList,
    lookup_models,
)
from shared.api.schemas import response_model

CUSTOMER = "11111111-1111-4111-8111-111111111111"
INVOICE = "22222222-2222-4222-8222-222222222222"


def invoice(**extra: Any) -> dict[str, Any]:
    return {
        "id": INVOICE,
        "number": "103001",
        "externalDocumentNumber": "PO-7",
        "invoiceDate": "2026-01-05",
        "dueDate": "2026-02-04",
        "customerId": CUSTOMER,
        "customerNumber": "10000",
        "customerName": "Adatum Corporation",
        "currencyCode": "USD",
        "totalAmountIncludingTax": "2000.50",
        "remainingAmount": "2000.50",
        "status": "Open",
        "title": "103001 · 2026-01-05 · 2000.5 USD",
        **extra,
    }


def test_an_invoice_keeps_its_exact_amounts_and_what_business_central_adds() -> None:
    page = SalesInvoiceList.model_validate({"value": [invoice(shipToName="Adatum")]})
    item = page.value[0]
    assert item.remainingAmount == Decimal("2000.50")
    assert str(item.totalAmountIncludingTax) == "2000.50"
    assert item.model_extra == {"shipToName": "Adatum"}
    assert page.nextLink is None


def test_a_picker_title_and_the_ids_are_required() -> None:
    record = invoice()
    del record["title"]
    with pytest.raises(ValidationError, match="title"):
        SalesInvoiceList.model_validate({"value": [record]})
    with pytest.raises(ValidationError, match="id"):
        CustomerList.model_validate(
            {"value": [{"id": "nope", "number": "1", "displayName": "x", "currencyCode": "",
                        "blocked": " ", "title": "1 · x"}]}
        )  # fmt: skip


def test_a_suggestion_is_an_open_invoice_with_its_score_and_reasons() -> None:
    reason = {"code": "same-customer-amount", "message": "Same customer, same amount."}
    answer = {
        "paymentId": CUSTOMER,
        "amount": "2000.5",
        "tolerance": "0.01",
        "value": [invoice(score=100, reasons=[reason])],
    }
    found = SuggestionList.model_validate(answer)
    assert found.value[0].reasons[0].code == "same-customer-amount"
    assert found.tolerance == Decimal("0.01")
    with pytest.raises(ValidationError, match="reasons"):
        SuggestionList.model_validate({**answer, "value": [invoice(score=1)]})


@pytest.mark.parametrize("kind", sorted(lookup_models()))
def test_the_route_table_documents_each_lookup_with_its_model(kind: str) -> None:
    assert response_model(kind, "v2.0") is lookup_models()[kind]  # type: ignore[arg-type]
