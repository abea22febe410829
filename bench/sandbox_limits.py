"""What the sandbox's Business Central limits cost a caller, straight at the emulator.

    .venv/bin/python bench/sandbox_limits.py [--latency-ms 50] [--per-op-ms 2] [--lines 5000]

Prints:

* how long ``POST /_sandbox/lines`` takes for ``--lines`` lines;
* 200 single PATCHes from 50 concurrent clients of one principal: elapsed,
  requests per second, the most processed at once (the limit, 5) and 429s;
* 150 requests at once: how many the queue (5 + 95) turns away with 429;
* one ``$batch`` of 100 PATCHes against 100 single PATCHes one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import RunningSandbox, start_sandbox  # noqa: E402


def _client(sandbox: RunningSandbox) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return httpx.AsyncClient(headers=sandbox.auth_headers(), timeout=60, limits=limits)


async def concurrent_patches(sandbox: RunningSandbox, ids: list[str], workers: int) -> None:
    statuses: list[int] = []
    queue = list(ids)

    async def work(http: httpx.AsyncClient) -> None:
        while queue:
            line_id = queue.pop()
            response = await http.patch(
                sandbox.line_url(line_id), json={"comment": "bench"}, headers={"If-Match": "*"}
            )
            statuses.append(response.status_code)

    async with _client(sandbox) as http:
        started = time.perf_counter()
        await asyncio.gather(*(work(http) for _ in range(workers)))
        elapsed = time.perf_counter() - started
    seen = sandbox.concurrency()
    print(
        f"{len(ids)} PATCHes, {workers} clients: {elapsed:.2f} s, "
        f"{len(ids) / elapsed:.0f} requests/s, most at once {seen['max']}, "
        f"429s {statuses.count(429)}"
    )


async def overflow(sandbox: RunningSandbox, requests: int) -> None:
    url = f"{sandbox.api_url()}/companies"
    async with _client(sandbox) as http:
        answers = await asyncio.gather(*(http.get(url) for _ in range(requests)))
    codes = [a.status_code for a in answers]
    print(
        f"{requests} requests at once: {codes.count(200)} answered, {codes.count(429)} got 429 "
        f"(most at once {sandbox.concurrency()['max']})"
    )


async def batch_against_singles(sandbox: RunningSandbox, ids: list[str]) -> None:
    ops = [
        sandbox.patch_operation(str(n), line_id, {"comment": f"batch {n}"})
        for n, line_id in enumerate(ids)
    ]
    async with _client(sandbox) as http:
        started = time.perf_counter()
        response = await http.post(f"{sandbox.api_url()}/$batch", json={"requests": ops})
        batch_s = time.perf_counter() - started
        ok = sum(1 for r in response.json()["responses"] if r["status"] == 200)
        started = time.perf_counter()
        for line_id in ids:
            await http.patch(
                sandbox.line_url(line_id), json={"comment": "single"}, headers={"If-Match": "*"}
            )
        singles_s = time.perf_counter() - started
    print(
        f"$batch of {len(ids)} PATCHes: {batch_s:.2f} s ({ok} succeeded); "
        f"{len(ids)} single PATCHes in a row: {singles_s:.2f} s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--per-op-ms", type=int, default=2)
    parser.add_argument("--lines", type=int, default=5000)
    args = parser.parse_args()
    with start_sandbox() as sandbox:

        def fresh() -> None:
            sandbox.reset()
            sandbox.set_latency(args.latency_ms, per_batch_operation_ms=args.per_op_ms)

        started = time.perf_counter()
        ids = sandbox.add_lines(args.lines)
        print(f"POST /_sandbox/lines: {len(ids)} lines in {time.perf_counter() - started:.2f} s")
        print(f"latency {args.latency_ms} ms, {args.per_op_ms} ms per batch operation:")
        fresh()
        await concurrent_patches(sandbox, sandbox.add_lines(200), workers=50)
        fresh()
        await overflow(sandbox, 150)
        fresh()
        await batch_against_singles(sandbox, sandbox.add_lines(100))


if __name__ == "__main__":
    asyncio.run(main())
