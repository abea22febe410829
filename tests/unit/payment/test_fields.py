"""The payment line's field rules: lengths counted as Business Central counts them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.payment.fields import utf16_length


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_length("abc") == 3
    assert utf16_length("\U0001f600") == 2
    assert utf16_length("é\u20ac") == 2  # BMP characters count once
    assert utf16_length("a\ud800b") == 3  # a lone surrogate (a str can hold one) is one unit


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=())))  # lone surrogates too
def test_utf16_length_is_code_points_plus_one_per_astral_character(text: str) -> None:
    assert utf16_length(text) == len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
