"""Time for the Durable stand-in: the wall clock, or a virtual one tests move.

Durable timers are the only thing that waits on the clock. With
:class:`VirtualClock` a 30 s ``Retry-After`` timer fires when a test calls
``advance(30)``, at once and in a known order, so tests cost no real time and
never race the clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

Cancel = Callable[[], None]


class Clock(Protocol):
    """What the engine needs from time: now, and a callback at a given moment."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancel:
        """Run ``callback`` once ``when`` has come (it must be thread-safe); returns a canceller."""
        ...


class WallClock:
    """Real time: timers are ``loop.call_later`` on the running event loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancel:
        loop = asyncio.get_running_loop()
        delay = max((when - self.now()).total_seconds(), 0.0)
        handle = loop.call_later(delay, callback)
        return handle.cancel


class VirtualClock:
    """Time that moves only when told to (:meth:`advance`); safe from any thread.

    Callbacks that come due run synchronously inside :meth:`advance`, in the
    order of their due times (ties in the order they were scheduled), so once
    ``advance`` returns every timer it passed has been handed to the engine.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime.now(UTC).replace(microsecond=0)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self._due: list[tuple[datetime, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._sequence = itertools.count()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancel:
        with self._lock:
            number = next(self._sequence)
            heapq.heappush(self._due, (when, number, callback))

        def cancel() -> None:
            with self._lock:
                self._cancelled.add(number)

        return cancel

    def pending(self) -> list[datetime]:
        """Due times of the callbacks not yet run (earliest first)."""
        with self._lock:
            return sorted(w for w, n, _ in self._due if n not in self._cancelled)

    def next_due(self) -> datetime | None:
        """When the earliest callback not yet run is due (None if there is none)."""
        pending = self.pending()
        return pending[0] if pending else None

    def advance(self, seconds: float) -> datetime:
        """Move time forward and run every callback that came due; returns the new time."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        with self._lock:
            target = self._now + timedelta(seconds=seconds)
        return self.advance_to(target)

    def stops(self, seconds: float) -> Iterator[None]:
        """Let ``seconds`` pass one due callback at a time: yields before each move
        and once at the end, so the caller can let what the callbacks started settle
        (and a callback scheduled on the way fires too if it comes due in time)."""
        target = self.now() + timedelta(seconds=seconds)
        while True:
            yield
            due = self.next_due()
            if due is None or due > target:
                self.advance_to(target)
                yield
                return
            self.advance_to(due)

    def advance_to(self, target: datetime) -> datetime:
        """Move time to ``target`` (never backwards), running what comes due on the way."""
        while True:
            with self._lock:
                if not self._due or self._due[0][0] > target:
                    self._now = max(self._now, target)
                    return self._now
                when, number, callback = heapq.heappop(self._due)
                # Each callback sees the time it was due at, as with a real clock.
                self._now = max(self._now, when)
                if number in self._cancelled:
                    self._cancelled.discard(number)
                    continue
            callback()
