"""The stored form of a value: the one form in which the proxy counts Code
lengths and compares values (read-backs, single and bulk, and list filters),
as Business Central stores them. The expected values are Microsoft's own
examples of the Code type and Business Central's documented behaviour."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.lines.lists import line_filters, odata_filter
from shared.payment.fields import code_stored
from shared.payment.models import stored_form, validate_update
from shared.payment.settlement import holds_values
from shared.process.problems import FieldError, Problem

CODE_FIELDS = (
    "customerNumber",
    "documentNumber",
    "externalDocumentNumber",
    "appliesToInvoiceNumber",
)
GUID = "3F2B5C1E-0A4D-4B8E-9C6F-2D1E7A9B0C3D"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (" g00099 ", "G00099"),  # Business Central's notes: length 6
        (" 2 ", "2"),  # the Code type's reference: ' 2 ' holds '2'
        ("ABC", "ABC"),
        ("", ""),
        ("   ", ""),
        ("a  b", "A  B"),  # inner spaces stay
        ("straße", "STRAßE"),  # one character for one, as .NET upper-cases
        ("\u00a0x\u00a0", "\u00a0X\u00a0"),  # only the space character is trimmed
    ],
)
def test_a_code_value_is_stored_trimmed_and_upper_case(sent: str, stored: str) -> None:
    assert code_stored(sent) == stored
    for name in CODE_FIELDS:
        assert stored_form(name, sent) == stored


def test_text_guids_and_amounts_have_their_own_stored_form() -> None:
    assert stored_form("description", " Mixed Case ") == " Mixed Case "
    assert stored_form("customerId", GUID) == GUID.lower()
    assert stored_form("appliesToInvoiceId", GUID.lower()) == GUID.lower()
    assert stored_form("amount", Decimal("10.125"), 2) == Decimal("10.13")
    assert stored_form("amount", Decimal("-10.125"), 2) == Decimal("-10.13")
    assert stored_form("amount", Decimal("1.5"), 0) == Decimal(2)
    assert stored_form("amount", 7, 2) == Decimal("7.00")
    assert stored_form("amount", Decimal("10.125")) == Decimal("10.125")  # no scale given


def errors_of(body: dict[str, Any]) -> list[FieldError]:
    result = validate_update("v2.0", body, amount_decimals=2)
    assert isinstance(result, list), result
    return result


@pytest.mark.parametrize(
    ("name", "limit"), [("documentNumber", 20), ("externalDocumentNumber", 35)]
)
def test_a_code_length_is_counted_on_the_stored_form(name: str, limit: int) -> None:
    padded = " " + "g" * limit + "  "
    # Accepted, and forwarded as sent: Business Central trims it itself.
    assert validate_update("v2.0", {name: padded}, amount_decimals=2) == {name: padded}
    (error,) = errors_of({name: " " + "g" * (limit + 1) + " "})
    assert error.code == "too_long"
    assert error.message == (
        f"{name} must be at most {limit} characters "
        f"(got {limit + 1}, leading and trailing spaces not counted)"
    )
    # Emoji still count 2, on the trimmed value.
    (wide,) = errors_of({name: " " + "\U0001f600" * (limit // 2 + 1)})
    assert wide.code == "too_long"
    assert f"got {2 * (limit // 2 + 1)} counting characters outside" in wide.message


def test_a_customer_number_of_spaces_only_is_empty() -> None:
    (error,) = errors_of({"customerNumber": "   "})
    assert error.code == "too_short"
    assert "leading and trailing spaces not counted" in error.message
    assert validate_update("v2.0", {"customerNumber": " 10000 "}, amount_decimals=2) == {
        "customerNumber": " 10000 "
    }


def test_text_fields_keep_and_count_their_spaces() -> None:
    (error,) = errors_of({"description": "d" * 100 + " "})
    assert (error.code, error.message) == (
        "too_long",
        "description must be at most 100 characters (got 101)",
    )


def test_a_read_back_holds_a_padded_code_and_a_guid_in_any_case() -> None:
    line = {"documentNumber": "G00099", "customerId": GUID.lower(), "description": "x"}
    assert holds_values(line, {"documentNumber": " g00099 ", "customerId": GUID})
    assert not holds_values(line, {"documentNumber": "g00099x"})
    assert not holds_values(line, {"description": " x"})


def test_a_list_filter_uses_the_stored_form() -> None:
    filters = line_filters("v2.0", {"documentNumber": " g00099 ", "customerNumber": "c1 "})
    assert odata_filter(filters) == "documentNumber eq 'G00099' and customerNumber eq 'C1'"
    # The length rule of a filter is the property's: 20 plus padding fits, 21 does not.
    assert line_filters("v2.0", {"documentNumber": "g" * 20 + " "})
    with pytest.raises(Problem) as refused:
        line_filters("v2.0", {"documentNumber": "g" * 21})
    assert refused.value.slug == "invalid-query-parameter"
