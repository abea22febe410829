"""JSON in and out with exact numbers.

Money must never pass through a binary float: every JSON number with a
fraction or exponent is read as :class:`decimal.Decimal` and written back with
the same digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

# Python refuses int() on more than 4300 digits; longer literals stay Decimal
# so that a silly number is a validation problem, not a crash.
_MAX_INT_DIGITS = 4000
# Plain notation for ordinary magnitudes; beyond this, scientific notation keeps
# a hostile exponent from expanding into megabytes of zeros.
_MAX_PLAIN_EXPONENT = 64
# Where the parsing hooks below can change an answer, so a body without them is
# parsed without their per-value Python calls (most of a 2 MiB body's cost): a
# run of at least _MAX_INT_DIGITS digits, and a \uD800-\uDFFF escape, the only
# way a lone surrogate gets into text that decoded as UTF-8. Either one anywhere,
# even inside a string, takes the careful way: a false alarm costs time, never a
# different answer. Digit runs are found in linear time by mapping every byte to
# "digit" or "not" (UTF-8 puts no ASCII byte inside another character).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))
_LONG_DIGIT_RUN = b"0" * _MAX_INT_DIGITS
# The hook also lets the parser hand the GIL to other threads between numbers:
# without it, a body of little but integers is read in one C call that holds
# the GIL throughout (2 MiB of them: about 80 ms on 2 cores). Past this many
# runs of digits (a bulk body of 1,000 updates has far fewer), it stays.
_MAX_QUICK_DIGIT_RUNS = 200_000
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonBodyError(ValueError):
    """The bytes are not one acceptable JSON document; ``str()`` says why."""


def _parse_int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _MAX_INT_DIGITS else Decimal(text)


def _parse_float(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        # Valid JSON, but an exponent no decimal can hold (beyond 10^±999999999999999999).
        raise JsonBodyError(
            "a number in the body has an exponent too large to handle exactly"
        ) from None


def _reject_constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not a JSON number; send a finite number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    # Some key repeats: name the first one seen twice.
    result = {}
    for key, value in pairs:
        if key in result:
            raise JsonBodyError(f'the property "{_printable(key)}" appears more than once')
        result[key] = value
    return result


def _printable(text: str, limit: int = 60) -> str:
    """A short, log-safe rendering of a caller-supplied name."""
    shown = json.dumps(text[:limit])[1:-1]
    return shown + ("..." if len(text) > limit else "")


def _check_strings(value: Any) -> None:
    """Lone surrogates parse from JSON escapes but cannot be sent as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _int_hook(text: str) -> int | Decimal:
    return _parse_int(text)  # looked up on each call, so a test can count the calls


# Built once: json.loads with hooks would build a decoder (and its scanner) per call.
# A decoder keeps no state between documents, so threads can share one.
_QUICK = json.JSONDecoder(
    parse_float=_parse_float, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates
)
_CAREFUL = json.JSONDecoder(
    parse_float=_parse_float,
    parse_int=_int_hook,
    parse_constant=_reject_constant,
    object_pairs_hook=_no_duplicates,
)


def loads_exact(raw: bytes, *, careful: bool = False) -> Any:
    """Parse UTF-8 JSON strictly: exact decimals, no duplicates, no NaN.

    ``careful`` runs every hook on every body, as if any could change the answer;
    the quick way must always give what it gives (tests/unit/process/test_jsonio.py).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonBodyError(f"the body is not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        raise JsonBodyError("the body starts with a byte order mark; send UTF-8 without a BOM")
    try:
        digits = raw.translate(_DIGITS_ONLY)
        quick_ints = (
            not careful
            and _LONG_DIGIT_RUN not in digits
            and digits.count(b".0") <= _MAX_QUICK_DIGIT_RUNS
        )
        value = (_QUICK if quick_ints else _CAREFUL).decode(text)
        if careful or ("\\u" in text and _SURROGATE_ESCAPE_RE.search(text)):
            _check_strings(value)
    except json.JSONDecodeError as exc:
        raise JsonBodyError(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise JsonBodyError("the body is nested too deeply") from None
    except UnicodeEncodeError:
        raise JsonBodyError("the body contains an invalid Unicode escape") from None
    return value


def format_decimal(value: Decimal) -> str:
    """The JSON text of an exact decimal, keeping its digits (``2000.50`` stays)."""
    if not value.is_finite():
        raise ValueError("only finite decimals can be written as JSON")
    text = str(value)
    if "E" not in text:
        # str() writes plain notation, digit for digit, whenever the exponent is at most
        # 0 and the number not tiny: every amount. The rest is decided below.
        return text
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -_MAX_PLAIN_EXPONENT <= exponent <= _MAX_PLAIN_EXPONENT:
        return format(value, "f")
    return str(value)


# The C function json.dumps(..., ensure_ascii=False) quotes every string with.
_quote: Callable[[str], str] = json.encoder.encode_basestring


def _encode(value: Any, out: list[str]) -> None:
    # The exact types first (one comparison each); subclasses take the checks below.
    kind = type(value)
    if kind is str:
        out.append(_quote(value))
    elif kind is dict:
        _encode_object(value, out)
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is Decimal:
        out.append(format_decimal(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_quote(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        out.append(format_decimal(value))
    elif isinstance(value, dict):
        _encode_object(value, out)
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        # A float here would mean a number was read without Decimal somewhere.
        raise TypeError(f"cannot write {type(value).__name__} as exact JSON")


def _encode_object(value: dict[Any, Any], out: list[str]) -> None:
    separator = "{"
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError("JSON object keys must be strings")
        if type(item) is str:  # most values: one piece for the pair
            out.append(f"{separator}{_quote(key)}:{_quote(item)}")
        else:
            out.append(f"{separator}{_quote(key)}:")
            _encode(item, out)
        separator = ","
    out.append("}" if separator == "," else "{}")


def dumps_exact(value: Any) -> bytes:
    """Serialize to compact UTF-8 JSON, writing Decimals with their exact digits."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")
