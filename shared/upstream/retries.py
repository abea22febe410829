"""The retry policy for upstream calls, in one place.

How long to wait before another attempt, and the time budget that no proxied
request may exceed (Power Automate gives up after 120 s and the Functions host
after 230 s; the default budget is 30 s). Which answers are worth another
attempt is ``statuses``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

_jitter = random.SystemRandom()


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; Retry-After wins when given."""

    base_s: float = 0.25
    cap_s: float = 4.0
    # No single wait is longer than this, whatever Retry-After says; a longer
    # one is handed back to the caller instead (see Budget.fits).
    max_wait_s: float = 20.0

    def backoff(self, attempt: int) -> float:
        """Wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return _jitter.uniform(0, ceiling)

    def wait(self, attempt: int, retry_after: float | None) -> float:
        return retry_after if retry_after is not None else self.backoff(attempt)


@dataclass
class Budget:
    """The total time one proxied request may take, retries and waits included."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.seconds - (self.clock() - self.started))

    def fits(self, wait: float, policy: RetryPolicy, reserve: float = 0.5) -> bool:
        """Whether waiting ``wait`` still leaves time for another attempt."""
        return wait <= policy.max_wait_s and wait + reserve < self.remaining()


def retry_after_header(seconds: float) -> int:
    """A whole number of seconds for a ``Retry-After`` header, at least 1."""
    return max(1, math.ceil(seconds))
