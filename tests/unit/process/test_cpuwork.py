"""Large-body CPU work: one step at a time per event loop, a shorter switch
interval only while one runs, the turn kept until its thread is done."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable

import pytest

from shared.process import cpuwork
from shared.process.cpuwork import LARGE_BODY_BYTES, run_cpu_bound

LARGE = LARGE_BODY_BYTES
SMALL = LARGE_BODY_BYTES - 1


class Steps:
    """Work functions that log when they start and end; ``held`` ones wait for
    their event before ending."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.intervals: dict[str, float] = {}
        self._lock = threading.Lock()

    def step(self, name: str, hold: threading.Event | None = None) -> Callable[[], str]:
        def work() -> str:
            with self._lock:
                self.log.append(f"{name} start")
                self.intervals[name] = sys.getswitchinterval()
            if hold is not None:
                assert hold.wait(10), "the test never let this step end"
            with self._lock:
                self.log.append(f"{name} end")
            return name

        return work


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("never happened")


async def test_large_steps_take_turns_and_small_ones_do_not_wait() -> None:
    steps, hold = Steps(), threading.Event()
    first = asyncio.create_task(run_cpu_bound(LARGE, steps.step("a", hold)))
    await _until(lambda: "a start" in steps.log)
    second = asyncio.create_task(run_cpu_bound(LARGE, steps.step("b")))
    # A small body goes straight to a thread while the large one still runs.
    assert await run_cpu_bound(SMALL, steps.step("small")) == "small"
    assert "b start" not in steps.log
    hold.set()
    assert list(await asyncio.gather(first, second)) == ["a", "b"]
    assert steps.log == ["a start", "small start", "small end", "a end", "b start", "b end"]


async def test_the_switch_interval_is_short_only_while_a_large_step_runs() -> None:
    before = sys.getswitchinterval()
    steps = Steps()
    await run_cpu_bound(SMALL, steps.step("small"))
    await run_cpu_bound(LARGE, steps.step("large"))
    assert steps.intervals["small"] == before
    assert steps.intervals["large"] == min(before, cpuwork.LARGE_WORK_SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == before


async def test_a_cancelled_caller_keeps_the_turn_until_its_thread_ends() -> None:
    before = sys.getswitchinterval()
    steps, hold = Steps(), threading.Event()
    first = asyncio.create_task(run_cpu_bound(LARGE, steps.step("a", hold)))
    await _until(lambda: "a start" in steps.log)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    second = asyncio.create_task(run_cpu_bound(LARGE, steps.step("b")))
    await asyncio.sleep(0.01)
    assert "b start" not in steps.log
    hold.set()
    assert await second == "b"
    assert steps.log == ["a start", "a end", "b start", "b end"]
    assert sys.getswitchinterval() == before


async def test_a_failing_step_raises_to_its_caller_and_frees_the_turn() -> None:
    def fail() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await run_cpu_bound(LARGE, fail)
    assert await run_cpu_bound(LARGE, Steps().step("next")) == "next"


async def test_each_event_loop_has_its_own_turns() -> None:
    # A worker thread's own loop (as tests and the local host make) is not
    # held up by a step running on another loop.
    steps, hold = Steps(), threading.Event()
    first = asyncio.create_task(run_cpu_bound(LARGE, steps.step("a", hold)))
    await _until(lambda: "a start" in steps.log)
    other = await asyncio.to_thread(asyncio.run, run_cpu_bound(LARGE, steps.step("other")))
    assert other == "other"
    hold.set()
    assert await first == "a"
