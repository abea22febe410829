"""A property's label for people, as the Power Platform writes them: title case, ID
for id, and a word of its own where splitting the name would read badly."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api.labels import property_label, titled


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("customerNumber", "Customer Number"),
        ("customerId", "Customer ID"),
        ("id", "ID"),
        ("amount", "Amount"),
        ("postingDate", "Posting Date"),
        ("etag", "ETag"),
        ("ifMatch", "ETag"),
        ("appliesToInvoiceId", "Applies-to Invoice ID"),
        ("nextLink", "Next Page Link"),
        ("value", "Items"),
        ("v1Thing", "V1 Thing"),
    ],
)
def test_labels(name: str, label: str) -> None:
    assert property_label(name) == label


def test_every_property_of_every_schema_gets_a_title_unless_it_has_one() -> None:
    document: dict[str, Any] = {
        "components": {
            "schemas": {
                "Line": {
                    "properties": {
                        "customerId": {"type": "string"},
                        "amount": {"type": "number", "title": "Kept"},
                        "items": {
                            "type": "array",
                            "items": {"properties": {"lineNumber": {"type": "integer"}}},
                        },
                    }
                }
            }
        },
        "list": [{"properties": {"documentNumber": {}}}],
    }
    titled(document)
    line = document["components"]["schemas"]["Line"]["properties"]
    assert line["customerId"]["title"] == "Customer ID"
    assert line["amount"]["title"] == "Kept"
    assert line["items"]["items"]["properties"]["lineNumber"]["title"] == "Line Number"
    assert document["list"][0]["properties"]["documentNumber"]["title"] == "Document Number"
