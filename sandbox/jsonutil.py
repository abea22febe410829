"""Exact-decimal JSON for the emulator.

Business Central's amounts are decimals, so bodies are parsed with
``parse_float=Decimal`` and Decimals are written back digit for digit. The
sandbox has its own encoder on purpose: it must not share code with the
proxy it is testing. :func:`response` is how the sandbox's own endpoints
(identity, admin, fault rules) answer in JSON.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.responses import Response


class NotJson(ValueError):
    """The text is not strict JSON (includes NaN/Infinity, which JSON lacks)."""


def _reject_constant(name: str) -> Any:
    raise NotJson(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise NotJson(f"duplicate property {key!r}")
        result[key] = value
    return result


def loads(text: str | bytes, *, reject_duplicates: bool = False) -> Any:
    """Parse JSON keeping every non-integer number as an exact Decimal."""
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys if reject_duplicates else None,
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotJson(str(exc)) from exc


def format_decimal(value: Decimal) -> str:
    """A Decimal as a JSON number: its own digits, never an exponent."""
    if not value.is_finite():
        raise ValueError("JSON has no NaN or Infinity")
    return format(value, "f")


def dumps(value: Any) -> str:
    """Serialize dicts, lists, str, int, bool, None and Decimal (exactly)."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as an ``application/json`` answer."""
    return Response(dumps(body), status_code=status, headers=headers, media_type="application/json")


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(format_decimal(value))
    elif isinstance(value, float):
        # Only the emulator's own bookkeeping (never amounts) could produce one.
        out.append(json.dumps(value, allow_nan=False))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")
