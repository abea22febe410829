"""The per-process runtime: one per event loop, closed and released with it."""

from __future__ import annotations

import asyncio
import gc
import weakref

from shared.upstream import runtime as runtime_module


def test_a_runtime_is_closed_and_released_with_its_loop(env: dict[str, str]) -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def use() -> runtime_module.Runtime:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return runtime_module.get_runtime()

    runtime = asyncio.run(use())
    gc.collect()
    assert runtime.http.is_closed
    assert loops[0]() is None, "the finished loop is not kept alive by its runtime"
    assert runtime not in runtime_module._runtimes.values()
