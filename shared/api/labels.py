"""A property's label for people (``customerNumber`` -> "Customer Number"): the
titles of the OpenAPI document's schemas and the connector's ``x-ms-summary``."""

from __future__ import annotations

import re
from typing import Any

# Labels where splitting the property name would read badly.
_LABELS = {
    "etag": "ETag",
    "ifMatch": "ETag",
    "clientRef": "Client Reference",
    "statusUrl": "Status URL",
    "value": "Items",
    "nextLink": "Next Page Link",
    "journalDisplayName": "Journal Code",
    "appliesToInvoiceId": "Applies-to Invoice ID",
    "appliesToInvoiceNumber": "Applies-to Invoice Number",
    "lastModifiedDateTime": "Last Modified",
}


def property_label(name: str) -> str:
    """A property's label for people, in title case as the Power Platform
    recommends: ``customerNumber`` -> ``Customer Number``, ``customerId`` ->
    ``Customer ID``. The OpenAPI document's titles and the connector's
    ``x-ms-summary`` both come from here."""
    if name in _LABELS:
        return _LABELS[name]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).split()
    return " ".join("ID" if word.lower() == "id" else word[:1].upper() + word[1:] for word in words)


def titled(node: Any) -> None:
    """Every property of every schema under ``node`` gets its label as ``title``."""
    if isinstance(node, list):
        for item in node:
            titled(item)
    elif isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, prop in properties.items():
                if isinstance(prop, dict):
                    prop.setdefault("title", property_label(name))
        for value in node.values():
            titled(value)
