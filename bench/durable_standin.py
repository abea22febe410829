# mypy: disable-error-code="untyped-decorator"
# (the Durable SDK's decorators carry no types)
"""What does the local Durable stand-in add to an orchestration?

Runs a sliding-window orchestration (K activities pending, ``task_any``, the
next one started) and a ``task_all`` fan-out over N activities that each
sleep a fixed time, on the stand-in with the wall clock. Every episode
replays the whole history through the SDK, so the cost grows with N; this
prints wall time, episodes and the time above the activities' own.

    .venv/bin/python bench/durable_standin.py [--items 10 100] [--window 5] [--latency 0.01]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import azure.durable_functions as df  # noqa: E402

from funchost.durable import DurableStandIn, WallClock  # noqa: E402

LATENCY = {"seconds": 0.01}

app = df.DFApp()


@app.activity_trigger(input_name="value")
async def work(value: int) -> int:
    await asyncio.sleep(LATENCY["seconds"])
    return value


@app.orchestration_trigger(context_name="context")
def sliding(context: df.DurableOrchestrationContext) -> Any:
    settings = context.get_input()
    items, size = list(range(settings["items"])), settings["window"]
    pending: list[Any] = []
    done = 0
    while items or pending:
        while items and len(pending) < size:
            pending.append(context.call_activity("work", items.pop(0)))
        finished = yield context.task_any(pending)
        pending.remove(finished)
        done += 1
    return done


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Any:
    count = context.get_input()["items"]
    results = yield context.task_all([context.call_activity("work", i) for i in range(count)])
    return len(results)


async def measure(name: str, items: int, window: int) -> dict[str, Any]:
    stand_in = DurableStandIn(app, clock=WallClock())
    try:
        started = time.perf_counter()
        instance_id = await stand_in.start_new(name, {"items": items, "window": window})
        view = await stand_in.wait_done(instance_id, timeout_s=600)
        elapsed = time.perf_counter() - started
    finally:
        await stand_in.shutdown()
    assert view.output == items, view.output
    waves = math.ceil(items / window) if name == "sliding" else 1
    ideal = waves * LATENCY["seconds"]
    return {"elapsed": elapsed, "episodes": view.episodes, "ideal": ideal}


async def main(items_list: list[int], window: int) -> None:
    print(f"activity latency {LATENCY['seconds'] * 1000:.0f} ms, window {window}")
    for items in items_list:
        for name in ("sliding", "fan_out"):
            result = await measure(name, items, window)
            overhead = result["elapsed"] - result["ideal"]
            per_episode = overhead / result["episodes"] * 1000
            print(
                f"{name:8} N={items:5}: {result['elapsed']:7.3f} s wall, "
                f"ideal {result['ideal']:6.3f} s, {result['episodes']:5} episodes, "
                f"{per_episode:6.2f} ms stand-in time per episode"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.01)
    args = parser.parse_args()
    LATENCY["seconds"] = args.latency
    asyncio.run(main(args.items, args.window))
