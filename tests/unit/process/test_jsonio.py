"""The quick way of ``loads_exact`` (no per-number hook, no walk for lone
surrogates when the body cannot need them) answers exactly as the careful way,
which applies both to every body."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.functions.lines import handle_payment
from shared.http.messages import CoreRequest
from shared.process import jsonio
from shared.process.jsonio import JsonBodyError, loads_exact
from tests.support.fakes import FakeBusinessCentral, payment_path, slug

FAST = settings(max_examples=300, deadline=None)


def careful(raw: bytes) -> Any:
    """Every hook on every body, as ``loads_exact`` always did."""
    return loads_exact(raw, careful=True)


def outcome(read: Any, raw: bytes) -> tuple[str, str]:
    try:
        value = read(raw)
    except JsonBodyError as exc:
        return ("error", str(exc))
    # repr shows types too: an int must not come back as a Decimal, or the reverse.
    return ("value", repr(value))


def same(raw: bytes) -> None:
    assert outcome(loads_exact, raw) == outcome(careful, raw)


LIMIT = jsonio._MAX_INT_DIGITS


@pytest.mark.parametrize(
    "raw",
    [
        b"9" * (LIMIT - 1),
        b"9" * LIMIT,
        b"9" * (LIMIT + 1),
        b"-" + b"9" * (LIMIT - 1),
        b"-" + b"9" * LIMIT,
        b'{"n": ' + b"1" * (LIMIT + 1) + b', "m": 7}',
        b'{"s": "' + b"1" * (LIMIT + 5) + b'", "m": 7}',
        b'{"s": "x' + b"1" * (LIMIT - 1) + b'y", "m": 7}',
        b'[1.5, 2, "' + b"1" * LIMIT + b'"]',
        b"[" + b"9" * (LIMIT - 1) + b"e2]",
    ],
)
def test_long_digit_runs(raw: bytes) -> None:
    same(raw)


def test_an_integer_longer_than_the_limit_stays_decimal() -> None:
    assert isinstance(loads_exact(b"1" * (LIMIT + 1)), Decimal)
    assert isinstance(loads_exact(b"-" + b"1" * LIMIT), Decimal)
    assert isinstance(loads_exact(b"1" * LIMIT), int)
    assert loads_exact(b'{"s": "' + b"1" * LIMIT + b'", "n": 5}') == {"s": "1" * LIMIT, "n": 5}


def test_a_body_of_many_integers_keeps_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    # The hook is where the parser lets other threads run between numbers.
    calls: list[str] = []
    parse_int = jsonio._parse_int

    def counted(text: str) -> int | Decimal:
        calls.append(text)
        return parse_int(text)

    monkeypatch.setattr(jsonio, "_parse_int", counted)
    monkeypatch.setattr(jsonio, "_MAX_QUICK_DIGIT_RUNS", 10)
    few = b"[" + b",".join(b"7" for _ in range(10)) + b"]"
    many = b"[" + b",".join(b"7" for _ in range(11)) + b"]"
    assert loads_exact(few) == [7] * 10
    assert calls == []
    assert loads_exact(many) == [7] * 11
    assert calls == ["7"] * 11


def test_many_integers_read_as_the_careful_way_does() -> None:
    same(b"[" + b"1," * (jsonio._MAX_QUICK_DIGIT_RUNS + 1) + b"2.50]")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"comment": "\\ud800"}',
        b'{"comment": "\\uDFFF"}',
        b'{"comment": "\\uDc00"}',
        b'{"\\ud800": 1}',
        b'["\\ud83d\\ude00"]',
        b'["\\ude00\\ud83d"]',
        b'["\\\\ud800"]',
        b'["\\u00e9", "\\ucafe"]',
    ],
)
def test_surrogate_escapes(raw: bytes) -> None:
    same(raw)


def test_a_lone_surrogate_is_refused_and_a_pair_is_read() -> None:
    with pytest.raises(JsonBodyError, match="invalid Unicode escape"):
        loads_exact(b'{"comment": "\\udBff"}')
    assert loads_exact(b'["\\ud83d\\ude00", "\\\\ud800"]') == ["\U0001f600", "\\ud800"]


def test_a_repeated_property_is_named_first_by_where_it_repeats() -> None:
    with pytest.raises(JsonBodyError, match='"b" appears more than once'):
        loads_exact(b'{"a": 1, "b": 2, "b": 3, "a": 4}')
    same(b'{"a": {"x": 1, "x": 2}, "a": 3}')


_JSON_TEXT = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False).map(str)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
).map(lambda value: json.dumps(value))


@FAST
@given(_JSON_TEXT)
def test_json_documents_read_as_the_careful_way_does(text: str) -> None:
    same(text.encode("utf-8"))


@FAST
@given(st.text(alphabet='{}[]":,0123456789-.eE\\ud8Ac ', max_size=60))
def test_near_json_reads_as_the_careful_way_does(text: str) -> None:
    same(text.encode("utf-8"))


_PLAIN_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


@FAST
@given(_PLAIN_VALUES)
def test_written_as_compact_json_writes_what_has_no_decimal(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert jsonio.dumps_exact(value) == expected


def test_decimals_keep_their_digits_and_a_float_is_refused() -> None:
    value = {"amount": Decimal("2000.50"), "tiny": Decimal("1E-70"), "rows": [(1, Decimal("-0"))]}
    assert jsonio.dumps_exact(value) == b'{"amount":2000.50,"tiny":1E-70,"rows":[[1,-0]]}'
    with pytest.raises(TypeError, match="float"):
        jsonio.dumps_exact({"amount": 1.5})
    with pytest.raises(TypeError, match="keys must be strings"):
        jsonio.dumps_exact({1: "x"})


def _plain_or_scientific(value: Decimal) -> str:
    """How a decimal was always written: plain for exponents up to 64 either way."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return format(value, "f") if -64 <= exponent <= 64 else str(value)


@FAST
@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.builds(
        lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
        st.integers(-(10**40), 10**40),
        st.integers(-90, 90),
    )
)
def test_a_decimal_is_written_as_it_always_was(value: Decimal) -> None:
    assert jsonio.format_decimal(value) == _plain_or_scientific(value)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": 1e999999999999999999999}',
        b'{"amount": -1E-99999999999999999999}',
        b'{"lineNumber": 5e+99999999999999999999}',
        b'{"x": [1, 2, 1e999999999999999999999]}',
    ],
)
async def test_unrepresentable_exponents_are_malformed_json(
    bc: FakeBusinessCentral, raw: bytes
) -> None:
    with pytest.raises(JsonBodyError):
        loads_exact(raw)
    response = await handle_payment(
        CoreRequest(
            "PATCH", payment_path(), {"content-type": "application/json", "if-match": "*"}, raw
        )
    )
    assert (response.status, slug(response)) == (400, "malformed-json")
    assert bc.requests == []
