"""The payment line's field rules: the one source of them. Each editable
property is declared once here, as an annotated type with its limits; the
per-version models (``models``) only choose which ones exist, and validation,
the OpenAPI document and the docs table are all derived from them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from shared.process.guids import GUID_PATTERN

ApiVersion = Literal["v2.0", "v1.0"]
API_VERSIONS: tuple[ApiVersion, ...] = ("v2.0", "v1.0")

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


class CodeField:
    """Marks a Business Central Code field (see :func:`code_stored`)."""


CODE = CodeField()


def code_stored(value: str) -> str:
    """A value as Business Central stores it in a Code field: without leading
    or trailing spaces, upper-cased one character for one, as .NET does ("ß"
    stays "ß"; Python's "SS" would make the value longer than the check saw).
    Its length is counted on this form: " g00099 " is G00099, 6 characters.
    Only the space character is trimmed, as AL's Code type does; other
    whitespace is a control character, refused by the rule before."""
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in value.strip(" "))


def utf16_length(value: str) -> int:
    """Length as Business Central counts it: AL Text and Code are .NET strings,
    so a character outside the Basic Multilingual Plane takes two units."""
    if value.isascii():
        return len(value)
    # Two bytes a unit; a lone surrogate (possible in a str) is one unit, as before.
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_limits(min_length: int, max_length: int, *, code: bool) -> AfterValidator:
    """Business Central's length rule, in UTF-16 units; a Code value's is
    counted on its stored form."""

    def check(value: str) -> str:
        length = utf16_length(code_stored(value) if code else value)
        if length > max_length:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": max_length, "code": code},
            )
        if length < min_length:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} characters",
                {"min_length": min_length, "code": code},
            )
        return value

    return AfterValidator(check)


def _string(max_length: int, description: str, min_length: int, *, code: bool) -> Any:
    if code:
        # No maxLength in the schema: a value padded with spaces may be longer
        # than the limit and still fit once Business Central trims it. The
        # limit is x-code-max-length, and the description says how it counts.
        limit: dict[str, Any] = {"json_schema_extra": {CODE_MAX_LENGTH: max_length}}
        note = CODE_NOTE.format(max_length=max_length)
    else:
        # max_length (code points) documents the limit in the schema; the UTF-16
        # check after it is the one Business Central applies, and is never looser.
        limit, note = {"max_length": max_length}, UTF16_NOTE
    rules = (
        Field(min_length=min_length, pattern=TEXT_PATTERN, description=description + note, **limit),
        _utf16_limits(min_length, max_length, code=code),
    )
    return (*rules, CODE) if code else rules


def _text(max_length: int, description: str, min_length: int = 0) -> Any:
    return _string(max_length, description, min_length, code=False)


def _code(max_length: int, description: str, min_length: int = 0) -> Any:
    return _string(max_length, description, min_length, code=True)


CODE_MAX_LENGTH = "x-code-max-length"
CODE_NOTE = (
    " At most {max_length} characters once leading and trailing spaces are removed: "
    "Business Central stores it without them, in upper case. Length in UTF-16 units: "
    "an emoji counts 2."
)
UTF16_NOTE = " Length in UTF-16 units: an emoji counts 2."


# Each editable property, declared once.
LineNumber = Annotated[
    int,
    Field(ge=1, le=MAX_INT32, description="Line number in the journal; changing it renumbers."),
]
Guid = Annotated[str, Field(pattern=GUID_PATTERN, json_schema_extra={"format": "uuid"})]
CustomerId = Annotated[Guid, Field(description="Id of an existing customer.")]
CustomerNumber = Annotated[str, *_code(20, "Number of an existing customer.", min_length=1)]
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
DocumentNumber = Annotated[str, *_code(20, "Document number.")]
ExternalDocumentNumber = Annotated[str, *_code(35, "External document number.")]
Amount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    AfterValidator(_amount_rules),
    Field(description="Amount as an exact decimal: a JSON number or a numeric string."),
]
AppliesToInvoiceId = Annotated[Guid, Field(description="Id of a posted sales invoice.")]
AppliesToInvoiceNumber = Annotated[str, *_code(20, "Number of a posted sales invoice.")]
Description = Annotated[str, *_text(100, "Description.")]
Comment = Annotated[str, *_text(250, "Comment.")]


def shown(name: str) -> str:
    """A caller-sent name as it may appear in a message: short, no control characters."""
    return name if len(name) <= 60 and not CONTROL_RE.search(name) else repr(name[:60])
