"""Business Central's per-principal limits: concurrency and the rate window.

BC online processes at most ``concurrent`` OData requests of one user or
service principal at once (5); up to ``queue`` more wait their turn (95);
anything beyond that is refused with 429. A ``$batch`` is one request.

It also admits at most ``requests`` requests of one principal in any sliding
window of ``window_s`` seconds (6,000 in 5 minutes); beyond, 429 with the
seconds until the window admits one again (:class:`RateWindow`).

The gate lives on the sandbox's event loop and is never touched from another
thread, so plain counters and futures are enough. A released slot is handed
straight to the oldest waiter, which keeps the queue first in, first out.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CONCURRENT = 5
DEFAULT_QUEUE = 95
DEFAULT_WINDOW_REQUESTS = 6000
DEFAULT_WINDOW_S = 300


class Throttled(Exception):
    """The principal already has ``concurrent`` requests running and ``queue`` waiting."""


@dataclass
class _Principal:
    active: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    # How long the principal had 0, 1, 2... requests processing at once, since
    # ``since`` (the last reset), up to ``changed`` (its count's last change).
    seconds_at: dict[int, float] = field(default_factory=dict)
    changed: float = 0.0


class ConcurrencyGate:
    """Slots per principal, plus the counts the admin API reports."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.concurrent = DEFAULT_CONCURRENT
        self.queue = DEFAULT_QUEUE
        self._principals: dict[str, _Principal] = {}
        self.max_active = 0
        self._clock = clock
        self._since = clock()

    def utilization(self) -> dict[str, Any]:
        """Since the last reset: its seconds, and per principal the seconds it had
        each number of requests processing at once (how long Business Central ran
        at its limit for it, for example)."""
        now = self._clock()
        principals = {}
        for name, principal in self._principals.items():
            seconds = dict(principal.seconds_at)
            start = max(principal.changed, self._since)
            seconds[principal.active] = seconds.get(principal.active, 0.0) + now - start
            principals[name] = {str(n): round(s, 6) for n, s in sorted(seconds.items())}
        return {"seconds": round(now - self._since, 6), "principals": principals}

    @property
    def active(self) -> int:
        """Requests being processed now, over all principals."""
        return sum(p.active for p in self._principals.values())

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now, over all principals."""
        return sum(len(p.waiters) for p in self._principals.values())

    def set_limits(self, concurrent: int, queue: int) -> None:
        if concurrent < 1 or queue < 0:
            raise ValueError("concurrent must be at least 1 and queue at least 0")
        self.concurrent = concurrent
        self.queue = queue
        # A higher limit lets waiting requests in at once; a lower one only
        # holds back new ones (running requests are never interrupted).
        for principal in self._principals.values():
            self._hand_over(principal)

    def reset(self) -> None:
        """Default limits; the maximum and the utilization start again from what runs now."""
        self.set_limits(DEFAULT_CONCURRENT, DEFAULT_QUEUE)
        self.max_active = self.active
        self._since = self._clock()
        for principal in self._principals.values():
            principal.seconds_at = {}

    @asynccontextmanager
    async def slot(self, principal_id: str) -> AsyncIterator[None]:
        """Hold one of ``principal_id``'s slots, waiting in its queue if need be.

        Raises :class:`Throttled` at once when the queue is full.
        """
        principal = self._principals.get(principal_id)
        if principal is None:
            principal = self._principals[principal_id] = _Principal(changed=self._clock())
        if principal.active < self.concurrent and not principal.waiters:
            self._take(principal)
        elif len(principal.waiters) < self.queue:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            principal.waiters.append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._release(principal)  # the slot arrived as we were cancelled
                elif turn in principal.waiters:
                    principal.waiters.remove(turn)
                raise
        else:
            raise Throttled(principal_id)
        try:
            yield
        finally:
            self._release(principal)

    def _take(self, principal: _Principal) -> None:
        self._account(principal)
        principal.active += 1
        self.max_active = max(self.max_active, self.active)

    def _release(self, principal: _Principal) -> None:
        self._account(principal)
        principal.active -= 1
        self._hand_over(principal)

    def _account(self, principal: _Principal) -> None:
        """Close the period the principal spent at its current count."""
        now = self._clock()
        start = max(principal.changed, self._since)
        held = principal.seconds_at
        held[principal.active] = held.get(principal.active, 0.0) + max(0.0, now - start)
        principal.changed = now

    def _hand_over(self, principal: _Principal) -> None:
        while principal.waiters and principal.active < self.concurrent:
            turn = principal.waiters.popleft()
            if not turn.done():
                self._take(principal)
                turn.set_result(None)


class RateWindow:
    """Requests admitted per principal in the last ``window_s`` seconds.

    A request the window refuses is not counted (a client that keeps retrying
    must not push its own wait further out); one it admits is, whatever happens
    to it next (the concurrency queue may still refuse it). A ``$batch`` is one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = DEFAULT_WINDOW_REQUESTS
        self.window_s = DEFAULT_WINDOW_S
        self.refused = 0
        self._clock = clock
        self._admitted: dict[str, deque[float]] = {}

    def set_limits(self, requests: int, window_s: int) -> None:
        if requests < 1 or window_s < 1:
            raise ValueError("requests and windowS must be at least 1")
        self.requests = requests
        self.window_s = window_s

    def reset(self) -> None:
        self.set_limits(DEFAULT_WINDOW_REQUESTS, DEFAULT_WINDOW_S)
        self._admitted.clear()
        self.refused = 0

    def admit(self, principal_id: str) -> int | None:
        """None when admitted (and counted); else the whole seconds, at least 1, until
        the oldest counted request leaves the window, as ``Retry-After`` says them."""
        now = self._clock()
        times = self._admitted.setdefault(principal_id, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) < self.requests:
            times.append(now)
            return None
        self.refused += 1
        return max(1, math.ceil(times[-self.requests] + self.window_s - now))

    def in_window(self) -> int:
        """Requests counted in the current window, over all principals."""
        now = self._clock()
        return sum(
            sum(1 for t in times if t > now - self.window_s) for times in self._admitted.values()
        )
