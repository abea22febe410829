"""An amount as Business Central stores it on a line: rounded to the line's
currency's rounding precision (to the nearest step, half away from zero):
whole yen, cents, three decimals of a dinar.

The proxy knows a line's currency only when it read it (the application
check of an update that names a customer or an invoice). When it does not,
an amount read back is held to the amount sent if it is that amount rounded
to any step a currency can have here: whole units, or 1 up to
``AMOUNT_DECIMALS`` decimals. So the settlement never calls a correctly
rounded amount "not held"; an amount someone else rounded alike reads as
held, which then answers "outcome unknown", never "not applied".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal


def round_to(amount: Decimal, step: Decimal) -> Decimal:
    """``amount`` rounded to a multiple of ``step``, half away from zero."""
    steps = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return steps * step


def steps_of_any_currency(amount_decimals: int) -> tuple[Decimal, ...]:
    """The rounding steps a line's amount may have when its currency is not known."""
    return tuple(Decimal(1).scaleb(-places) for places in range(amount_decimals + 1))


def held_amount(stored: Decimal, sent: Decimal, steps: Sequence[Decimal]) -> bool:
    """Whether ``stored`` is ``sent`` as Business Central stores it at one of ``steps``."""
    return any(stored == round_to(sent, step) for step in steps)
