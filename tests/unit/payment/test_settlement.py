"""The settlement rule: a line holds an update when every property sent reads
back as Business Central would have written it.

The property test models Business Central's normalizations on its own (not
through the proxy's code): Code fields upper-case, GUIDs lower-case, amounts
rounded half away from zero to two places, and the customer filled in from an
applied invoice when the update sent the empty customer.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.payment.settlement import EMPTY_GUID, derived_properties, holds_values, same_entity_tag

CODE = ("documentNumber", "externalDocumentNumber", "customerNumber", "appliesToInvoiceNumber")
TEXT = ("description", "comment")
GUIDS = ("customerId", "appliesToInvoiceId")

codes = st.text(alphabet="abcxyzABC019-", min_size=1, max_size=10)
texts = st.text(alphabet="abcXYZ 1ä", min_size=1, max_size=10)
guids = st.uuids().map(str).flatmap(lambda g: st.sampled_from([g, g.upper()]))
amounts = st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False)


def as_business_central_stores(name: str, value: Any) -> Any:
    if name in CODE:
        return value.upper()
    if name in GUIDS:
        return value.lower()
    if name == "amount":
        return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return value


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in CODE:
        if draw(st.booleans()):
            changes[name] = draw(codes)
    for name in TEXT:
        if draw(st.booleans()):
            changes[name] = draw(texts)
    for name in GUIDS:
        if draw(st.booleans()):
            changes[name] = draw(guids)
    if draw(st.booleans()):
        changes["amount"] = draw(amounts)
    return changes


def different(name: str, stored: Any) -> Any:
    """A value Business Central could hold that is not the stored one."""
    if name == "amount":
        return stored + Decimal("0.01")
    if name in GUIDS:
        return str(uuid.UUID(int=(uuid.UUID(stored).int + 1) % 2**128))
    return stored + "Q" if name in CODE else stored + "q"


@given(updates(), st.data())
def test_holds_exactly_when_the_stored_values_equal_the_normalized_sent_ones(
    changes: dict[str, Any], data: st.DataObject
) -> None:
    line = {name: as_business_central_stores(name, value) for name, value in changes.items()}
    line["etag"] = 'W/"x"'
    assert holds_values(line, changes)
    if changes:
        name = data.draw(st.sampled_from(sorted(changes)))
        line[name] = different(name, line[name])
        assert not holds_values(line, changes)


@given(guids, st.sampled_from(["appliesToInvoiceId", "appliesToInvoiceNumber"]), st.data())
def test_a_customer_derived_from_the_applied_invoice_is_not_held_against_the_empty_one(
    invoice_customer: str, invoice_property: str, data: st.DataObject
) -> None:
    invoice = data.draw(guids if invoice_property == "appliesToInvoiceId" else codes)
    sent_customer = data.draw(st.sampled_from(["customerId", "customerNumber"]))
    changes = {
        invoice_property: invoice,
        sent_customer: EMPTY_GUID if sent_customer == "customerId" else "",
    }
    line = {
        invoice_property: as_business_central_stores(invoice_property, invoice),
        "customerId": invoice_customer.lower(),
        "customerNumber": "C" + invoice_customer[:4].upper(),
    }
    assert derived_properties(changes) == {sent_customer}
    assert holds_values(line, changes)
    # The invoice itself is never derived: a different one is not the update.
    line[invoice_property] = different(invoice_property, line[invoice_property])
    assert not holds_values(line, changes)


def test_without_an_invoice_the_empty_customer_must_read_back_empty() -> None:
    changes = {"customerId": EMPTY_GUID, "amount": Decimal(1)}
    assert derived_properties(changes) == frozenset()
    assert not holds_values({"customerId": str(uuid.uuid4()), "amount": Decimal(1)}, changes)
    assert holds_values({"customerId": EMPTY_GUID, "amount": Decimal("1.00")}, changes)
    # Clearing the invoice derives nothing either.
    cleared = {"appliesToInvoiceId": EMPTY_GUID, "customerId": EMPTY_GUID}
    assert derived_properties(cleared) == frozenset()


def test_a_customer_sent_with_a_value_is_compared_even_beside_an_invoice() -> None:
    customer = str(uuid.uuid4())
    changes = {"appliesToInvoiceNumber": "103001", "customerId": customer}
    assert derived_properties(changes) == frozenset()
    line = {"appliesToInvoiceNumber": "103001", "customerId": str(uuid.uuid4())}
    assert not holds_values(line, changes)


@given(st.text(alphabet="abcXYZ019", max_size=12), st.booleans(), st.booleans())
def test_entity_tags_compare_weakly(opaque: str, weak_a: bool, weak_b: bool) -> None:
    a = ('W/"' if weak_a else '"') + opaque + '"'
    b = ('W/"' if weak_b else '"') + opaque + '"'
    assert same_entity_tag(a, b)
    assert not same_entity_tag(a, b[:-1] + 'z"')
    assert not same_entity_tag(a, None)
    assert not same_entity_tag(None, None)


@pytest.mark.parametrize(
    ("sent", "stored", "decimals", "holds"),
    [
        (Decimal("10.125"), Decimal("10.13"), 2, True),  # BC rounds half away from zero
        (Decimal("-10.125"), Decimal("-10.13"), 2, True),
        (Decimal("10.124"), Decimal("10.12"), 2, True),
        (Decimal("10.125"), Decimal("10.12"), 2, False),
        (Decimal("2000.5"), Decimal("2000.50"), 2, True),
        (Decimal(7), Decimal("7.00"), 2, True),
        (Decimal("1.5"), Decimal("2"), 0, True),
    ],
)
def test_amounts_compare_after_business_centrals_rounding(
    sent: Decimal, stored: Decimal, decimals: int, holds: bool
) -> None:
    line = {"amount": stored}
    assert holds_values(line, {"amount": sent}, amount_decimals=decimals) is holds


def test_code_fields_compare_upper_case_and_text_as_stored() -> None:
    line = {"documentNumber": "INV-7", "description": "Mixed Case", "customerId": "ABC"}
    assert holds_values(line, {"documentNumber": "inv-7"})
    assert not holds_values(line, {"description": "mixed case"})
    assert holds_values(
        {"customerId": "3f2b5c1e-0a4d-4b8e-9c6f-2d1e7a9b0c3d"},
        {"customerId": "3F2B5C1E-0A4D-4B8E-9C6F-2D1E7A9B0C3D"},
    )
