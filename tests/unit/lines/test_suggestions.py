"""The reads that find every invoice a suggestion's reason could point at, each a
filter the proxy writes itself: the customer's open invoices, those whose number or
external document number appears in the line's texts, those whose total is near the
payment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.lines.suggestions import MAX_CANDIDATES, candidate_reads
from shared.payment.settlement import EMPTY_GUID
from tests.support.fakes import COMPANY

CUSTOMER = "9c6f4d21-4e5f-4071-9c23-3d4e5f607182"


def reads(line: dict[str, Any], tolerance: str = "1") -> dict[str, tuple[str, dict[str, str]]]:
    """Each read by key: the record set it reads and its options."""
    found = {}
    for read in candidate_reads("v2.0", COMPANY, line, Decimal(tolerance)):
        split = urlsplit(read.path)
        options = {name: values[0] for name, values in parse_qs(split.query).items()}
        found[read.key] = (split.path.rsplit("/", 1)[1], options)
    return found


def test_a_line_with_a_customer_a_reference_and_an_amount_reads_every_kind() -> None:
    line = {"customerId": CUSTOMER, "description": "inv 103001 ref PO-77", "amount": Decimal("50")}
    found = reads(line)
    assert set(found) == {"of-customer", "customer", "by-number", "by-external-number", "by-amount"}
    assert found["customer"] == ("customers", {"$filter": f"id eq {CUSTOMER}"})
    entity_set, options = found["of-customer"]
    assert entity_set == "salesInvoices"
    assert options == {
        "$filter": f"status eq 'Open' and customerId eq {CUSTOMER}",
        "$top": str(MAX_CANDIDATES),
    }
    assert found["by-number"][1]["$filter"] == (
        "status eq 'Open' and (number eq '103001' or number eq 'PO-77')"
    )
    assert found["by-amount"][1]["$filter"] == (
        "status eq 'Open' and totalAmountIncludingTax ge 49 and totalAmountIncludingTax le 51"
    )


def test_a_line_with_nothing_to_go_on_reads_nothing() -> None:
    assert reads({"customerId": EMPTY_GUID, "description": "thanks", "amount": Decimal(0)}) == {}
    assert reads({"customerId": "not-a-guid", "amount": -5}) == {}


def test_the_amount_window_never_goes_below_zero() -> None:
    found = reads({"amount": Decimal("0.5")}, tolerance="2")
    assert found["by-amount"][1]["$filter"].endswith(
        "totalAmountIncludingTax ge 0 and totalAmountIncludingTax le 2.5"
    )
