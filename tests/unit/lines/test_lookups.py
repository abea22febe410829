"""The pieces of the customer and open-invoice lookups that need no sockets: query
values checked with the rule of the property they stand for, the remaining-amount
filter the proxy applies itself, pickers' titles and where the next page starts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.lines.lookups import (
    CUSTOMER_FILTERS,
    INVOICE_FILTERS,
    amount_values,
    customer_title,
    decimal_value,
    invoice_title,
    page_of,
    query_values,
    remaining_within,
)
from shared.process.problems import Problem
from tests.support.fakes import COMPANY


def test_a_value_is_checked_with_its_propertys_rule_and_an_empty_one_is_not_given() -> None:
    assert query_values("v2.0", {"number": "10000", "name": ""}, CUSTOMER_FILTERS) == {
        "number": "10000"
    }
    assert query_values("v2.0", {"customerId": COMPANY}, INVOICE_FILTERS) == {"customerId": COMPANY}
    with pytest.raises(Problem) as raised:
        query_values("v2.0", {"customerId": "not-a-guid"}, INVOICE_FILTERS)
    assert raised.value.slug == "invalid-query-parameter"
    # The message names the query parameter, not the property behind it.
    with pytest.raises(Problem) as named:
        query_values("v2.0", {"number": "x" * 21}, INVOICE_FILTERS)
    assert named.value.detail.startswith("The query parameter number ")


def test_amounts_are_exact_decimals_or_refused() -> None:
    assert amount_values("v2.0", {"minRemainingAmount": "10.5", "maxRemainingAmount": ""}) == {
        "minRemainingAmount": Decimal("10.5")
    }
    assert decimal_value("v2.0", {}, "tolerance") is None
    assert decimal_value("v2.0", {"tolerance": "0.000001"}, "tolerance") == Decimal("0.000001")
    for bad in ("1e3x", "0.0000001", "abc"):
        with pytest.raises(Problem):
            decimal_value("v2.0", {"tolerance": bad}, "tolerance")


@pytest.mark.parametrize(
    ("amounts", "remaining", "kept"),
    [
        ({"remainingAmount": Decimal("10")}, Decimal("10.00"), True),
        ({"remainingAmount": Decimal("10")}, Decimal("10.01"), False),
        ({"minRemainingAmount": Decimal("5")}, 5, True),
        ({"minRemainingAmount": Decimal("5")}, Decimal("4.99"), False),
        ({"maxRemainingAmount": Decimal("5")}, Decimal("5.01"), False),
        ({"minRemainingAmount": Decimal("1"), "maxRemainingAmount": Decimal("2")}, 2, True),
        ({"minRemainingAmount": Decimal("1")}, None, False),
        ({"minRemainingAmount": Decimal("1")}, True, False),  # not an amount
    ],
)
def test_the_remaining_amount_is_the_one_asked_for_or_within_the_bounds(
    amounts: dict[str, Decimal], remaining: Any, kept: bool
) -> None:
    assert remaining_within(amounts)({"remainingAmount": remaining}) is kept


def test_pickers_name_a_record_by_what_a_person_reads_and_skip_what_is_empty() -> None:
    assert customer_title({"number": "10000", "displayName": "Adatum"}) == "10000 · Adatum"
    assert customer_title({"number": "10000", "displayName": ""}) == "10000"
    invoice = {
        "number": "103001",
        "invoiceDate": "2026-11-02",
        "remainingAmount": Decimal("1234.50"),
        "currencyCode": "EUR",
    }
    assert invoice_title(invoice) == "103001 · 2026-11-02 · 1234.50 EUR"
    assert invoice_title({**invoice, "currencyCode": ""}) == "103001 · 2026-11-02 · 1234.50"


def test_a_page_says_how_far_it_read_to_fill_itself() -> None:
    items = [{"n": n} for n in range(10)]
    page, consumed = page_of(items, 3, lambda item: item["n"] % 2 == 0)
    assert [item["n"] for item in page] == [0, 2, 4]
    assert consumed == 5  # the next page starts after the fifth item read
    assert page_of(items, 20, None) == (items, 10)
    assert page_of(items, 2, lambda item: False) == ([], 10)
