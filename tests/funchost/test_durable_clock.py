"""The virtual clock the Durable stand-in's tests run on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from funchost.durable import VirtualClock

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_callbacks_run_in_due_order_at_their_own_time() -> None:
    clock = VirtualClock(START)
    seen: list[tuple[str, datetime]] = []

    def note(name: str) -> Callable[[], None]:
        def record() -> None:
            seen.append((name, clock.now()))

        return record

    for name, seconds in (("late", 20), ("early", 5), ("tie-1", 10), ("tie-2", 10)):
        clock.call_at(START + timedelta(seconds=seconds), note(name))

    assert clock.next_due() == START + timedelta(seconds=5)
    assert clock.advance(10) == START + timedelta(seconds=10)
    assert seen == [
        ("early", START + timedelta(seconds=5)),
        ("tie-1", START + timedelta(seconds=10)),
        ("tie-2", START + timedelta(seconds=10)),
    ]
    clock.advance(9)
    assert [name for name, _ in seen] == ["early", "tie-1", "tie-2"]
    clock.advance(1)
    assert seen[-1] == ("late", START + timedelta(seconds=20))
    assert clock.next_due() is None


def test_a_cancelled_callback_never_runs() -> None:
    clock = VirtualClock(START)
    ran: list[str] = []
    cancel = clock.call_at(START + timedelta(seconds=1), lambda: ran.append("cancelled"))
    clock.call_at(START + timedelta(seconds=2), lambda: ran.append("kept"))
    cancel()

    assert clock.pending() == [START + timedelta(seconds=2)]
    clock.advance(5)
    assert ran == ["kept"]


def test_time_does_not_go_backwards() -> None:
    clock = VirtualClock(START)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert clock.advance_to(START - timedelta(hours=1)) == START
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2026, 1, 1))


def test_a_callback_may_schedule_another_that_comes_due_in_the_same_advance() -> None:
    clock = VirtualClock(START)
    ran: list[datetime] = []

    def first() -> None:
        ran.append(clock.now())
        clock.call_at(clock.now() + timedelta(seconds=5), lambda: ran.append(clock.now()))

    clock.call_at(START + timedelta(seconds=5), first)
    clock.advance(10)
    assert ran == [START + timedelta(seconds=5), START + timedelta(seconds=10)]


def test_other_threads_can_advance_it() -> None:
    clock = VirtualClock(START)
    threads = [threading.Thread(target=clock.advance, args=(1,)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now() == START + timedelta(seconds=10)
