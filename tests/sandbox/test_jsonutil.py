"""The emulator's JSON keeps decimals exact both ways."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox import jsonutil


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_decimals_round_trip_digit_for_digit(value):
    text = jsonutil.dumps({"amount": value})
    assert "e" not in text.lower()
    assert text == '{"amount":' + format(value, "f") + "}"
    assert jsonutil.loads(text)["amount"] == value
    assert json.loads(text, parse_float=Decimal)["amount"] == value


def test_trailing_zeros_and_nesting_survive():
    body = '{"a":[1,2.50,{"b":-0.10}],"c":"é","d":null,"e":true}'
    assert jsonutil.dumps(jsonutil.loads(body)) == body


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', "{", '{"a": 1, "a": 2}'])
def test_strict_parsing(text):
    with pytest.raises(jsonutil.NotJson):
        jsonutil.loads(text, reject_duplicates=True)


def test_non_finite_decimal_cannot_be_written():
    with pytest.raises(ValueError, match="NaN"):
        jsonutil.dumps(Decimal("NaN"))
