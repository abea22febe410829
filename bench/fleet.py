"""A fleet of proxy instances meeting one Business Central principal's limits.

    .venv/bin/python bench/fleet.py [--instances 4] [--callers 200] [--seconds 60]
        [--bc-max-concurrency 5] [--latency-ms 100] [--per-op-ms 5]
        [--window-requests 6000] [--window-s 300] [--bulk-every 10] [--bulk-size 100]
        [--lines 2000] [--drain-s 120] [--json]

One sandbox, in a process of its own, with Business Central's limits: 5 requests of
one principal processed at once, 95 waiting, 6,000 admitted in any 5 minutes
(``--window-requests``, ``--window-s``), every answer after ``--latency-ms`` (a
``$batch`` also ``--per-op-ms`` an operation). ``--instances`` local host processes
serve the app with the production settings (``BC_MAX_CONCURRENCY`` from
``--bc-max-concurrency``), all with the one managed identity. ``--callers`` callers
(in this process) share the instances round-robin, each sending one request after
another for ``--seconds``: a PATCH of a random line with a value of its own
(``If-Match: *``), and every ``--bulk-every``-th a bulk job of ``--bulk-size``
updates, whose status it polls. A caller answered with ``Retry-After`` waits that long
before its next request, as a flow's retry policy does (not past the end). Requests
under way at the end are answered; bulk jobs get ``--drain-s`` more to finish.

Prints Business Central's utilization (the share of the run its slots for the
principal were all busy, and the mean number busy), the callers' answers by status
(200, 429 with ``Retry-After``, 429 without, anything else), the PATCHes' p50 and p99
latency, bulk items by outcome, and, from the sandbox's request log, every update a
caller was told about checked against what Business Central ran: lost (told updated,
never run), phantom (told it failed, yet run) and doubled (run more than once). With
``--json``, one JSON line with the same figures instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.servers import Child, spawn  # noqa: E402

BC_CONCURRENT = 5
BC_QUEUE = 95


@dataclass
class Tally:
    """What the callers were told."""

    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    # The value each update carried, and what its caller was told of it.
    told: dict[str, str] = field(default_factory=dict)
    jobs: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)


def answer_kind(response: httpx.Response) -> str:
    if response.status_code == 429:
        return "429 with Retry-After" if "retry-after" in response.headers else "429 without"
    return str(response.status_code)


def outcome_of(status: int, slug: str) -> str:
    """updated, failed or unknown, as the contract's Outcomes section reads a status."""
    if status == 200:
        return "updated"
    if status == 504 or slug == "outcome-unknown":
        return "unknown"
    return "failed"


def retry_after_s(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0


class Fleet:
    def __init__(self, args: argparse.Namespace, sandbox: Child, proxies: list[Child]) -> None:
        self.args = args
        self.sandbox = sandbox
        self.proxies = proxies
        self.tally = Tally()
        company = sandbox.info["seed"]["companies"][0]
        self.company, self.journal = company["id"], company["journals"][0]["id"]
        self.lines: list[str] = []
        self.deadline = 0.0

    def base(self, proxy: Child) -> str:
        return (
            f"{proxy.url}/api/v2.0/companies/{self.company}/customerPaymentJournals/{self.journal}"
        )

    async def caller(self, number: int, http: httpx.AsyncClient) -> None:
        proxy = self.proxies[number % len(self.proxies)]
        rng = random.Random(number)
        # Callers start at different points of their cycle, so bulk jobs are spread out.
        sequence = rng.randrange(self.args.bulk_every) if self.args.bulk_every else 0
        while time.monotonic() < self.deadline:
            sequence += 1
            if self.args.bulk_every and sequence % self.args.bulk_every == 0:
                response = await self.bulk(proxy, http, f"b{number}-{sequence}", rng)
            else:
                response = await self.patch(proxy, http, f"p{number}-{sequence}", rng)
            wait = min(retry_after_s(response), self.deadline - time.monotonic())
            if response.status_code >= 400 and wait > 0:
                await asyncio.sleep(wait)

    async def patch(
        self, proxy: Child, http: httpx.AsyncClient, value: str, rng: random.Random
    ) -> httpx.Response:
        url = f"{self.base(proxy)}/customerPayments/{rng.choice(self.lines)}"
        started = time.perf_counter()
        response = await http.patch(url, json={"comment": value}, headers={"If-Match": "*"})
        self.tally.latencies.append(time.perf_counter() - started)
        self.tally.statuses[answer_kind(response)] += 1
        slug = ""
        if response.status_code != 200:
            slug = str(response.json().get("type", "")).rsplit("#", 1)[-1]
        self.tally.told[value] = outcome_of(response.status_code, slug)
        return response

    async def bulk(
        self, proxy: Child, http: httpx.AsyncClient, value: str, rng: random.Random
    ) -> httpx.Response:
        chosen = rng.sample(self.lines, self.args.bulk_size)
        updates = [
            {"id": line, "ifMatch": "*", "changes": {"comment": f"{value}-{n}"}}
            for n, line in enumerate(chosen)
        ]
        response = await http.post(
            f"{self.base(proxy)}/bulkPaymentUpdates", json={"updates": updates}
        )
        self.tally.statuses[f"bulk start {answer_kind(response)}"] += 1
        if response.status_code != 202:
            for n in range(len(updates)):
                self.tally.told[f"{value}-{n}"] = "failed"
            return response
        location = response.headers["Location"]
        end = self.deadline + self.args.drain_s
        while time.monotonic() < end:
            await asyncio.sleep(min(2.0, max(0.0, end - time.monotonic())))
            status = await http.get(location)
            if status.status_code == 200:
                result = status.json()
                self.tally.jobs[result["status"]] += 1
                for n, item in enumerate(result["items"]):
                    self.tally.told[f"{value}-{n}"] = item["outcome"]
                    self.tally.items[item["outcome"]] += 1
                return response
        self.tally.jobs["still running at the end"] += 1
        return response

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.args.callers + 10)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            self.deadline = time.monotonic() + self.args.seconds
            await asyncio.gather(*(self.caller(n, http) for n in range(self.args.callers)))


def admin(sandbox: Child, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{sandbox.url}/_sandbox/{path}", json=body, timeout=300)
    response.raise_for_status()
    return response.json() if response.content else None


def applied_counts(log: list[dict[str, Any]]) -> Counter[str]:
    """How many times Business Central ran each value: single PATCHes it answered 200,
    and each ``$batch`` operation it answered 200."""
    runs: Counter[str] = Counter()
    for entry in log:
        body = entry.get("body")
        if entry["method"] == "PATCH" and entry.get("processedStatus") == 200:
            runs[str((body or {}).get("comment"))] += 1
        statuses = entry.get("operationStatuses") or {}
        if entry["path"].endswith("$batch") and isinstance(body, dict):
            for operation in body.get("requests", []):
                if operation.get("method") == "PATCH" and statuses.get(str(operation["id"])) == 200:
                    runs[str((operation.get("body") or {}).get("comment"))] += 1
    return runs


def check(told: dict[str, str], runs: Counter[str]) -> dict[str, int]:
    lost = sum(1 for value, outcome in told.items() if outcome == "updated" and runs[value] == 0)
    phantom = sum(1 for value, outcome in told.items() if outcome == "failed" and runs[value] > 0)
    doubled = sum(1 for value in told if runs[value] > 1)
    untold = sum(1 for value in runs if value not in told)
    return {"lost": lost, "phantom": phantom, "doubled": doubled, "run but never told": untold}


def summary(fleet: Fleet, use: dict[str, Any], runs: Counter[str], wall_s: float) -> dict[str, Any]:
    seconds = max(use["seconds"], 1e-9)
    busiest = max(use["principals"].values(), key=lambda c: sum(float(s) for s in c.values()))
    at_limit = float(busiest.get(str(BC_CONCURRENT), 0.0)) / seconds
    mean = sum(int(n) * float(s) for n, s in busiest.items()) / seconds
    latencies = sorted(fleet.tally.latencies) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    window = admin(fleet.sandbox, "GET", "window")
    return {
        "cores": os.cpu_count(),
        "instances": fleet.args.instances,
        "bc_max_concurrency": fleet.args.bc_max_concurrency,
        "callers": fleet.args.callers,
        "seconds": round(wall_s, 1),
        "bc_at_limit_share": round(at_limit, 3),
        "bc_mean_busy": round(mean, 2),
        "bc_requests_run": sum(runs.values()),
        "bc_window_refused": window["refused"],
        "answers": dict(fleet.tally.statuses),
        "patch_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "patch_p99_ms": round(p99 * 1000, 1),
        "bulk_jobs": dict(fleet.tally.jobs),
        "bulk_items": dict(fleet.tally.items),
        **check(fleet.tally.told, runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--bc-max-concurrency", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--per-op-ms", type=int, default=5)
    parser.add_argument("--window-requests", type=int, default=6000)
    parser.add_argument("--window-s", type=int, default=300)
    parser.add_argument("--bulk-every", type=int, default=10, help="0: PATCHes only")
    parser.add_argument("--bulk-size", type=int, default=100)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--drain-s", type=float, default=120)
    parser.add_argument("--json", action="store_true", help="one JSON line of figures")
    args = parser.parse_args()
    with spawn("sandbox", "--log", "2000000") as sandbox, contextlib.ExitStack() as stack:
        env = {
            **sandbox.info["environment"],
            "BC_MAX_CONCURRENCY": str(args.bc_max_concurrency),
        }
        proxies = [stack.enter_context(spawn("proxy", env=env)) for _ in range(args.instances)]
        fleet = Fleet(args, sandbox, proxies)
        body = {"companyId": fleet.company, "journalId": fleet.journal, "count": args.lines}
        fleet.lines = admin(sandbox, "POST", "lines", body)["ids"]
        # Each instance gets its token (as a warm instance has one) before the clock starts.
        for proxy in proxies:
            httpx.get(f"{fleet.base(proxy)}/customerPayments/{fleet.lines[0]}", timeout=60)
        admin(sandbox, "POST", "reset")
        fleet.lines = admin(sandbox, "POST", "lines", body)["ids"]
        admin(
            sandbox,
            "POST",
            "latency",
            {"ms": args.latency_ms, "perBatchOperationMs": args.per_op_ms},
        )
        admin(
            sandbox,
            "POST",
            "limits",
            {
                "concurrent": BC_CONCURRENT,
                "queue": BC_QUEUE,
                "requests": args.window_requests,
                "windowS": args.window_s,
            },
        )
        admin(sandbox, "DELETE", "requests")
        started = time.monotonic()
        asyncio.run(fleet.run())
        wall_s = time.monotonic() - started
        use = admin(sandbox, "GET", "utilization")
        runs = applied_counts(admin(sandbox, "GET", "requests"))
        figures = summary(fleet, use, runs, wall_s)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"{figures['cores']} cores; {args.instances} instance(s) with BC_MAX_CONCURRENCY "
        f"{args.bc_max_concurrency}, {args.callers} callers for {args.seconds:.0f} s "
        f"({figures['seconds']} s with the last answers); Business Central at "
        f"{args.latency_ms} ms, {BC_CONCURRENT} at once, {BC_QUEUE} waiting, "
        f"{args.window_requests} in {args.window_s} s"
    )
    print(
        f"Business Central: all {BC_CONCURRENT} slots busy {figures['bc_at_limit_share']:.0%} "
        f"of the time, {figures['bc_mean_busy']} busy on average; {figures['bc_requests_run']} "
        f"updates run; {figures['bc_window_refused']} requests refused by the rate window"
    )
    print(f"answers: {figures['answers']}")
    print(f"PATCH latency: p50 {figures['patch_p50_ms']} ms, p99 {figures['patch_p99_ms']} ms")
    print(f"bulk jobs: {figures['bulk_jobs']}, items: {figures['bulk_items']}")
    print(
        f"updates: lost {figures['lost']}, phantom {figures['phantom']}, "
        f"doubled {figures['doubled']}, run but never told {figures['run but never told']}"
    )


if __name__ == "__main__":
    main()
