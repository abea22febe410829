"""An amount as Business Central stores it: rounded half away from zero to its
currency's step, and held when it was sent so rounded."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.payment.amounts import held_amount, round_to, steps_of_any_currency


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False),
    st.sampled_from([Decimal(1), Decimal("0.01"), Decimal("0.001"), Decimal("0.05")]),
)
def test_a_correctly_rounded_amount_is_held_whatever_the_step(sent: Decimal, step: Decimal) -> None:
    stored = round_to(sent, step)
    assert held_amount(stored, sent, (step,))
    assert abs(stored - sent) <= step / 2
    if step != Decimal("0.05"):
        assert held_amount(stored, sent, steps_of_any_currency(3))


def test_rounding_is_half_away_from_zero() -> None:
    assert round_to(Decimal("1000.5"), Decimal(1)) == 1001
    assert round_to(Decimal("-1000.5"), Decimal(1)) == -1001
    assert round_to(Decimal("12.3456"), Decimal("0.001")) == Decimal("12.346")
    assert round_to(Decimal("10.03"), Decimal("0.05")) == Decimal("10.05")
    assert steps_of_any_currency(2) == (Decimal(1), Decimal("0.1"), Decimal("0.01"))
    # Not a rounding of the amount sent at any step: someone else's value.
    assert not held_amount(Decimal("1002"), Decimal("1000.5"), steps_of_any_currency(2))
