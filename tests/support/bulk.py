"""Bulk request bodies as a flow would send them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.process.jsonio import dumps_exact
from tests.support.fakes import ETAG

JSON = {"content-type": "application/json"}
IDS = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 2001)]


def body(updates: Any, **extra: Any) -> bytes:
    return dumps_exact({"updates": updates, **extra})


def update(n: int = 0, **fields: Any) -> dict[str, Any]:
    """Update ``n`` of a job: line ``IDS[n]`` to 10.5, with a specific If-Match;
    ``fields`` replace its own (None leaves one out)."""
    item: dict[str, Any] = {"id": IDS[n], "ifMatch": ETAG, "changes": {"amount": Decimal("10.5")}}
    item.update(fields)
    return {k: v for k, v in item.items() if v is not None}
