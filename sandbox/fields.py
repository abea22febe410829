"""How the emulator reads one JSON value into a field, as Business Central's
OData layer and the field's own rules do: types (Edm.Int32, Edm.Guid,
Edm.Date, Edm.Decimal, strings), nulls, amount rounding to a currency, Code
fields trimmed of leading and trailing spaces and upper-cased, lengths counted
in UTF-16 code units as BC counts them (a Code value's without those spaces)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.store import GUID_RE, BcError

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# BC's Decimal holds at most about 18 significant digits before rounding.
MAX_AMOUNT = Decimal(10) ** 15
INT32_MAX = 2**31 - 1

# Field kinds: int, guid, code, text, date, decimal.
EDM_TYPES = {
    "int": "Edm.Int32",
    "guid": "Edm.Guid",
    "code": "Edm.String",
    "text": "Edm.String",
    "date": "Edm.Date",
    "decimal": "Edm.Decimal",
}


def normalize_amount(amount: Decimal) -> Decimal:
    """How BC writes a decimal: no trailing zeros, no exponent, no -0."""
    if amount.is_zero():
        return Decimal(0)
    normalized = amount.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


def convert(name: str, kind: str, max_length: int, value: Any) -> Any:
    """OData-level conversion of one JSON value, then the field's length rule."""
    edm = EDM_TYPES[kind]
    if value is None:
        if kind in ("code", "text"):
            return ""
        raise BcError(
            400,
            "BadRequest",
            f"A null value was found for the property named '{name}', which has the "
            f"expected type '{edm}[Nullable=False]'. The expected type "
            f"'{edm}[Nullable=False]' does not allow null values.",
        )
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _cannot_convert(value, edm)
        if not -(2**31) <= value <= INT32_MAX:
            raise _cannot_convert(value, edm)
        return value
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _cannot_convert(value, edm)
        amount = Decimal(value)
        if abs(amount) >= MAX_AMOUNT:
            raise BcError(
                400,
                "Application_EvaluateException",
                f"The value {value} is outside the permitted range for the field Amount.",
            )
        # Rounded to the line's currency once the line's currency is known
        # (sandbox.payments), as Business Central's Amount field does.
        return amount
    if not isinstance(value, str):
        raise _cannot_convert(value, edm)
    if kind == "guid":
        if not GUID_RE.match(value):
            raise BcError(
                400,
                "Application_InvalidGUID",
                f"The value '{value}' of the property '{name}' is not a valid GUID.",
            )
        return value.lower()
    if kind == "date":
        try:
            if not DATE_RE.match(value):
                raise ValueError(value)
            dt.date.fromisoformat(value)
        except ValueError:
            raise BcError(
                400,
                "Application_EvaluateException",
                f'The value "{value}" can\'t be evaluated into type Date.',
            ) from None
        return value
    if kind == "code":
        value = code_value(value)
    length = utf16_length(value)
    if length > max_length:
        raise BcError(
            400,
            "Application_StringExceededLength",
            f"The length of the string is {length}, but it must be less than or equal "
            f"to {max_length} characters. Value: {value}",
        )
    return value


def round_amount(amount: Decimal, precision: Decimal) -> Decimal:
    """``amount`` rounded to a multiple of a currency's rounding precision, half
    away from zero (AL's Round with '='): yen to whole units, 0.05 steps alike."""
    steps = (amount / precision).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    rounded = (steps * precision).quantize(precision)
    return Decimal(0) if rounded.is_zero() else rounded


def utf16_length(value: str) -> int:
    """The length BC (.NET strings) sees: a character outside the BMP counts 2."""
    return len(value.encode("utf-16-le")) // 2


def code_value(value: str) -> str:
    """A value as AL's Code type holds it: leading and trailing spaces removed,
    then upper-cased; its length is counted on the result (" g00099 " is
    "G00099", 6 characters). Only the space character is removed: the
    reference speaks of spaces, and control characters such as tabs are
    refused before they get here."""
    return upper_code(value.strip(" "))


def upper_code(value: str) -> str:
    """Upper-case as .NET does, one character for one ("ß" stays "ß").

    Python's full case mapping can lengthen a string ("ß" -> "SS"), which
    would let a Code value grow past its length after the check.
    """
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in value)


def _cannot_convert(value: Any, edm: str) -> BcError:
    text = value if isinstance(value, str) else repr(value)
    return BcError(
        400,
        "BadRequest",
        f"Cannot convert the literal '{text}' to the expected type '{edm}'.",
    )
