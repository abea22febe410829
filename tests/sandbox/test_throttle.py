"""The concurrency gate and the rate window on their own: order of the queue, cancelled
waiters, limits, the sliding window and the wait it names."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.throttle import ConcurrencyGate, RateWindow, Throttled


async def _hold(gate: ConcurrencyGate, who: str, order: list[str], release: asyncio.Event) -> None:
    async with gate.slot("p"):
        order.append(who)
        await release.wait()


async def test_waiters_get_their_slot_first_in_first_out():
    gate = ConcurrencyGate()
    gate.set_limits(1, 10)
    order: list[str] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(_hold(gate, str(n), order, release)) for n in range(4)]
    await asyncio.sleep(0)
    assert (gate.active, gate.queued) == (1, 3)
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["0", "1", "2", "3"]
    assert (gate.active, gate.queued, gate.max_active) == (0, 0, 1)


async def test_a_cancelled_waiter_leaves_the_queue_and_takes_no_slot():
    gate = ConcurrencyGate()
    gate.set_limits(1, 1)
    order: list[str] = []
    release = asyncio.Event()
    first = asyncio.create_task(_hold(gate, "first", order, release))
    waiting = asyncio.create_task(_hold(gate, "waiting", order, release))
    await asyncio.sleep(0)
    assert gate.queued == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert gate.queued == 0
    # Its place in the queue is free again, and the slot still goes round.
    late = asyncio.create_task(_hold(gate, "late", order, release))
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(asyncio.gather(first, late), 10)
    assert order == ["first", "late"]
    assert gate.active == 0


async def test_a_waiter_cancelled_as_its_slot_arrives_gives_the_slot_back():
    gate = ConcurrencyGate()
    gate.set_limits(1, 5)
    order: list[str] = []
    release = asyncio.Event()
    release.set()
    async with gate.slot("p"):
        unlucky = asyncio.create_task(_hold(gate, "unlucky", order, release))
        after = asyncio.create_task(_hold(gate, "after", order, release))
        await asyncio.sleep(0)
        assert gate.queued == 2
    # Leaving the block handed the slot to "unlucky", which has not run yet.
    assert (gate.active, gate.queued) == (1, 1)
    unlucky.cancel()
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    await asyncio.wait_for(after, 10)  # a leaked slot would leave it waiting for ever
    assert order == ["after"]
    assert (gate.active, gate.queued) == (0, 0)


async def test_a_full_queue_refuses_at_once_and_principals_are_separate():
    gate = ConcurrencyGate()
    gate.set_limits(1, 0)
    async with gate.slot("a"):
        with pytest.raises(Throttled):
            async with gate.slot("a"):
                pass
        async with gate.slot("b"):
            assert (gate.active, gate.max_active) == (2, 2)
    gate.reset()
    assert (gate.concurrent, gate.queue, gate.max_active) == (5, 95, 0)


@pytest.mark.parametrize(("concurrent", "queue"), [(0, 5), (1, -1)])
def test_impossible_limits_are_refused(concurrent, queue):
    with pytest.raises(ValueError, match="at least"):
        ConcurrencyGate().set_limits(concurrent, queue)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_window_admits_its_count_then_says_when_it_admits_again():
    clock = _Clock()
    window = RateWindow(clock)
    window.set_limits(3, 10)
    for step in (0.0, 2.5, 4.0):
        clock.now = 1000.0 + step
        assert window.admit("p") is None
    clock.now = 1004.2
    # The first request leaves the window at 1010: 5.8 s from now, said as 6.
    assert window.admit("p") == 6
    assert window.admit("other") is None  # principals are counted apart
    clock.now = 1009.9
    assert window.admit("p") == 1  # never less than a second
    assert window.refused == 2
    clock.now = 1010.0
    assert window.admit("p") is None  # the first one left; refusals were not counted
    assert window.in_window() == 4  # 3 of p (2.5, 4.0, 10.0) and 1 of other
    clock.now = 1012.6
    assert window.admit("p") is None


def test_a_lowered_rate_limit_waits_for_enough_requests_to_leave():
    clock = _Clock()
    window = RateWindow(clock)
    window.set_limits(4, 10)
    for step in range(4):
        clock.now = 1000.0 + step
        assert window.admit("p") is None
    window.set_limits(2, 10)
    # Below 2 counted means three must leave: the third, counted at 1002, leaves at 1012.
    assert window.admit("p") == 9
    window.reset()
    assert (window.requests, window.window_s, window.refused) == (6000, 300, 0)
    assert window.admit("p") is None


@pytest.mark.parametrize(("requests", "window_s"), [(0, 300), (6000, 0)])
def test_impossible_rate_limits_are_refused(requests, window_s):
    with pytest.raises(ValueError, match="at least 1"):
        RateWindow().set_limits(requests, window_s)


async def test_utilization_says_how_long_each_number_of_requests_ran_at_once():
    clock = _Clock()
    gate = ConcurrencyGate(clock)
    gate.set_limits(2, 5)
    release = asyncio.Event()
    order: list[str] = []
    first = asyncio.create_task(_hold(gate, "a", order, release))
    await asyncio.sleep(0)
    clock.now += 1.0  # one request for a second
    second = asyncio.create_task(_hold(gate, "b", order, release))
    await asyncio.sleep(0)
    clock.now += 3.0  # two (the limit) for three seconds
    release.set()
    await asyncio.gather(first, second)
    clock.now += 0.5  # none for half a second
    use = gate.utilization()
    assert use["seconds"] == pytest.approx(4.5)
    assert use["principals"] == {"p": {"0": 0.5, "1": 1.0, "2": 3.0}}
    gate.reset()
    clock.now += 2.0
    assert gate.utilization() == {"seconds": 2.0, "principals": {"p": {"0": 2.0}}}
