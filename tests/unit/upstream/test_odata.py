"""The $filter text the proxy writes: no caller's text ever becomes syntax."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.upstream import odata
from tests.support.fakes import COMPANY


def test_text_is_one_quoted_literal_with_its_quotes_doubled() -> None:
    assert odata.text_literal("O'Brien") == "'O''Brien'"
    assert odata.text_literal("x') or (1 eq 1") == "'x'') or (1 eq 1'"


def test_a_code_value_is_written_as_business_central_stores_it() -> None:
    assert odata.code_literal("customerNumber", "c-10'0") == "'C-10''0'"


def test_guids_and_decimals_come_from_checked_values_only() -> None:
    assert odata.guid_literal(COMPANY.upper()) == COMPANY
    with pytest.raises(ValueError, match="not a GUID"):
        odata.guid_literal("1 eq 1")
    assert odata.decimal_literal(Decimal("1E+3")) == "1000"
    assert odata.decimal_literal(Decimal("-0.50")) == "-0.50"
    with pytest.raises(ValueError, match="finite"):
        odata.decimal_literal(Decimal("NaN"))


def test_or_joins_values_of_one_property_once_each() -> None:
    assert odata.any_of("number", ["'A'"]) == "number eq 'A'"
    assert odata.any_of("number", ["'A'", "'B'", "'A'"]) == "(number eq 'A' or number eq 'B')"
    with pytest.raises(ValueError, match="no values"):
        odata.any_of("number", [])


def test_and_skips_the_empty_clauses() -> None:
    assert odata.all_of(odata.OPEN_INVOICES, "", "number eq 'A'") == (
        "status eq 'Open' and number eq 'A'"
    )
    assert odata.all_of() == ""
