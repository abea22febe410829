"""Customer payment models per API version: the one source of the field rules.

Validation, the OpenAPI document and the docs table are all derived from the
models below. Each editable property is declared once as an annotated type
with its limits; the per-version models only choose which ones exist.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

ApiVersion = Literal["v2.0", "v1.0"]
API_VERSIONS: tuple[ApiVersion, ...] = ("v2.0", "v1.0")

GUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TEXT_PATTERN = r"^[^\x00-\x1F\x7F]*$"
# The JSON number grammar: a numeric string is accepted only if it would also
# have been a valid JSON number, so "1_000", " 12", "NaN" and "0x10" are not.
NUMBER_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
AMOUNT_LIMIT = Decimal(10) ** 12
MAX_INT32 = 2147483647

CONTROL_RE = re.compile(r"[\x00-\x1F\x7F]")
_NUMBER_RE = re.compile(NUMBER_PATTERN)
PATTERN_CODES = {
    GUID_PATTERN: "invalid_guid",
    DATE_PATTERN: "invalid_date",
    TEXT_PATTERN: "control_character",
}


def _real_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "invalid_date", "must be a real calendar date ({value} is not)", {"value": value}
        ) from None
    return value


def _to_decimal(value: Any) -> Any:
    """Accept a JSON number or a numeric string; never a float, never a bool."""
    if isinstance(value, bool):
        raise PydanticCustomError("not_a_number", "must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        # fullmatch: "$" alone would let "12\n" through.
        if not _NUMBER_RE.fullmatch(value):
            raise PydanticCustomError(
                "not_a_number", "must be a number or a numeric string such as 1234.56"
            )
        try:
            return Decimal(value)
        except InvalidOperation:
            # An exponent beyond what any decimal can hold ("1e99999999999999999999").
            if re.search(r"[eE]-", value):
                raise PydanticCustomError(
                    "too_many_decimals", "has far too many digits after the decimal point"
                ) from None
            raise PydanticCustomError(
                "out_of_range", "must be greater than -10^12 and less than 10^12"
            ) from None
    if isinstance(value, float):
        # JSON is parsed with Decimal, so a float means a caller bypassed it.
        raise PydanticCustomError("not_a_number", "binary floating point is not accepted")
    if isinstance(value, Decimal) or value is None:
        return value  # None fails the type check and is reported as null
    raise PydanticCustomError("not_a_number", "must be a number or a numeric string")


def fraction_digits(value: Decimal) -> int:
    """Significant digits after the point, without rounding (2000.500 has 1)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing = 0
    for digit in reversed(digits):
        if digit:
            break
        trailing += 1
    else:
        return 0  # zero, however written (0.000)
    return max(0, -(exponent + trailing))


def _amount_rules(value: Decimal, info: ValidationInfo) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("not_a_number", "must be a finite number")
    # copy_abs and comparisons are exact; abs() would round to the context.
    if value.copy_abs() >= AMOUNT_LIMIT:
        raise PydanticCustomError("out_of_range", "must be greater than -10^12 and less than 10^12")
    allowed = (info.context or {}).get("amount_decimals", 2)
    if fraction_digits(value) > allowed:
        raise PydanticCustomError(
            "too_many_decimals",
            "must have at most {allowed} digits after the decimal point (got {got})",
            {"allowed": allowed, "got": fraction_digits(value)},
        )
    return value


class StoredUpperCase:
    """Marks a Business Central Code field: BC stores it upper-case."""


UPPER = StoredUpperCase()


def utf16_length(value: str) -> int:
    """Length as Business Central counts it: AL Text and Code are .NET strings,
    so a character outside the Basic Multilingual Plane takes two units."""
    if value.isascii():
        return len(value)
    # Two bytes a unit; a lone surrogate (possible in a str) is one unit, as before.
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_max(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        if utf16_length(value) > max_length:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": max_length},
            )
        return value

    return AfterValidator(check)


def _text(max_length: int, description: str, min_length: int = 0) -> Any:
    # max_length (code points) documents the limit in the schema; the UTF-16
    # check after it is the one Business Central applies, and is never looser.
    return (
        Field(
            min_length=min_length,
            max_length=max_length,
            pattern=TEXT_PATTERN,
            description=description + UTF16_NOTE,
        ),
        _utf16_max(max_length),
    )


UTF16_NOTE = " Length in UTF-16 units: an emoji counts 2."


# Each editable property, declared once.
LineNumber = Annotated[
    int,
    Field(ge=1, le=MAX_INT32, description="Line number in the journal; changing it renumbers."),
]
Guid = Annotated[str, Field(pattern=GUID_PATTERN, json_schema_extra={"format": "uuid"})]
CustomerId = Annotated[Guid, Field(description="Id of an existing customer.")]
CustomerNumber = Annotated[str, *_text(20, "Number of an existing customer.", min_length=1), UPPER]
ContactId = Annotated[str, *_text(250, "Contact id (API v1.0 only).")]
PostingDate = Annotated[
    str,
    Field(
        pattern=DATE_PATTERN,
        json_schema_extra={"format": "date"},
        description="Posting date, YYYY-MM-DD.",
    ),
    AfterValidator(_real_date),
]
DocumentNumber = Annotated[str, *_text(20, "Document number."), UPPER]
ExternalDocumentNumber = Annotated[str, *_text(35, "External document number."), UPPER]
Amount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    AfterValidator(_amount_rules),
    Field(description="Amount as an exact decimal: a JSON number or a numeric string."),
]
AppliesToInvoiceId = Annotated[Guid, Field(description="Id of a posted sales invoice.")]
AppliesToInvoiceNumber = Annotated[str, *_text(20, "Number of a posted sales invoice."), UPPER]
Description = Annotated[str, *_text(100, "Description.")]
Comment = Annotated[str, *_text(250, "Comment.")]

# --- Responses (documented, not validated: BC's answer passes through) -------

# --- Validation ---------------------------------------------------------------


def shown(name: str) -> str:
    """A caller-sent name as it may appear in a message: short, no control characters."""
    return name if len(name) <= 60 and not CONTROL_RE.search(name) else repr(name[:60])


# --- Comparing an update with a stored line -------------------------------------
