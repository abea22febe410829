"""What the sandbox answers as Business Central: its error envelope (status, code,
and the correlation id ending the message) and JSON read with exact numbers."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx

CORRELATION_SUFFIX = re.compile(
    r"  CorrelationId:  [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.$"
)


def bc_error(response: httpx.Response, status: int, code: str) -> str:
    """Assert BC's error envelope with ``status`` and ``code``; return the message."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert CORRELATION_SUFFIX.search(error["message"]), error["message"]
    return str(error["message"])


def exact(response: httpx.Response) -> Any:
    """The JSON body with numbers as exact Decimals."""
    return json.loads(response.text, parse_float=Decimal)
