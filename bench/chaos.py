"""Chaos benchmark: thousands of PATCHes through the proxy while the sandbox
injects faults, then a comparison of what the answers claimed with what
Business Central actually holds.

For every operation the benchmark sends a unique comment, then reads the line
directly from the sandbox: the comment is there exactly when the update was
applied. The sandbox's request log says how many times each operation was
really written.

    .venv/bin/python bench/chaos.py [--operations 2000] [--seed 7] [--fault-rate 0.1]

Prints: succeeded, failed with a definite problem, unknown outcome, lost
(applied but reported failed without "unknown"), phantom (reported 200 but
not applied), duplicated (written more than once). Exit code 0 only when lost,
phantom and duplicated are all 0.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from funchost.http import create_local_host  # noqa: E402
from sandbox.serving import serve_in_thread  # noqa: E402
from tests.sandbox_fixtures import RunningSandbox, start_sandbox  # noqa: E402

# Each kind is a fault rule aimed at one PATCH of one line (path = its id).
FAULTS: dict[str, dict[str, Any]] = {
    "429 Retry-After 1": {"status": 429, "code": "Application_TooManyRequests", "retryAfter": 1},
    "429 no Retry-After": {"status": 429, "code": "Application_TooManyRequests"},
    "429 Retry-After 60": {"status": 429, "code": "Application_TooManyRequests", "retryAfter": 60},
    "503 Retry-After 1": {"status": 503, "code": "Internal_TenantUnavailable", "retryAfter": 1},
    "502": {"status": 502, "code": "Unknown"},
    "504": {"status": 504, "code": "Unknown"},
    "500": {"status": 500, "code": "Internal_ServerError"},
    "drop before": {"drop": "before"},
    "drop after": {"drop": "after"},
    "delay past read timeout": {"delayMs": 1200},
    "401 once": {"status": 401, "code": "Authentication_InvalidCredentials"},
    "malformed 200": {"status": 200, "rawBody": "{not json"},
}
SETTINGS = {
    "SYNC_BUDGET_S": "4",
    "READ_BACK_RESERVE_S": "1",
    "MIN_ATTEMPT_S": "1",
    "BC_READ_TIMEOUT_S": "0.5",
    "BC_MAX_CONCURRENCY": "5",
}


@dataclass
class Operation:
    number: int
    line: str
    url: str
    direct_url: str
    specific_etag: bool
    fault: str | None
    status: int = 0
    slug: str | None = None
    applied: bool = False
    writes: int = 0


async def create_lines(
    sandbox: RunningSandbox, http: httpx.AsyncClient, wanted: int
) -> list[dict[str, str]]:
    """The seeded lines plus new ones, so that faults spread over many lines."""
    lines = []
    for company in sandbox.seed["companies"]:
        for journal in company["journals"]:
            lines += [
                {"company": company["id"], "journal": journal["id"], "id": p["id"]}
                for p in journal["payments"]
            ]
    company = sandbox.seed["companies"][0]
    journal = company["journals"][0]
    collection = (
        f"{sandbox.api_url()}/companies({company['id']})/customerPaymentJournals"
        f"({journal['id']})/customerPayments"
    )
    customer = company["customers"][0]["number"]
    while len(lines) < wanted:
        response = await http.post(
            collection,
            json={"customerNumber": customer, "amount": 1},
            headers=sandbox.auth_headers(),
        )
        response.raise_for_status()
        lines.append(
            {"company": company["id"], "journal": journal["id"], "id": response.json()["id"]}
        )
    return lines


async def run_operation(
    op: Operation,
    proxy: httpx.AsyncClient,
    direct: httpx.AsyncClient,
    sandbox: RunningSandbox,
    rng: random.Random,
) -> None:
    if_match = "*"
    if op.specific_etag:
        read = await proxy.get(op.url)
        if read.status_code != 200:
            op.status, op.slug = read.status_code, "read failed"
            return
        if_match = read.headers["etag"]
    if op.fault is not None:
        sandbox.add_faults({"method": "PATCH", "path": op.line, "times": 1, **FAULTS[op.fault]})
    amount = Decimal(rng.randrange(-(10**8), 10**8)) / 100
    body = f'{{"comment": "op-{op.number}", "amount": {amount}}}'.encode()
    response = await proxy.patch(
        op.url, content=body, headers={"Content-Type": "application/json", "If-Match": if_match}
    )
    op.status = response.status_code
    if response.status_code != 200:
        op.slug = str(response.json().get("type", "")).rsplit("#", 1)[-1]
    stored = await direct.get(op.direct_url)
    op.applied = stored.json().get("comment") == f"op-{op.number}"


async def worker(ops: list[Operation], proxy_url: str, sandbox: RunningSandbox, seed: int) -> None:
    rng = random.Random(seed)
    async with (
        httpx.AsyncClient(timeout=60) as proxy,
        httpx.AsyncClient(timeout=30, headers=sandbox.auth_headers()) as direct,
    ):
        for op in ops:
            await run_operation(op, proxy, direct, sandbox, rng)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        os.environ.update(SETTINGS)
        import function_app
        from shared.runtime import aclose_runtime

        async def setup() -> list[dict[str, str]]:
            async with httpx.AsyncClient(timeout=30) as http:
                return await create_lines(sandbox, http, args.lines)

        lines = asyncio.run(setup())
        host = create_local_host(
            function_app.app, host_json=ROOT / "host.json", on_shutdown=[aclose_runtime]
        )
        with serve_in_thread(host) as proxy:
            ops = []
            for number in range(args.operations):
                line = lines[number % len(lines)]
                fault = rng.choice(sorted(FAULTS)) if rng.random() < args.fault_rate else None
                path = (
                    f"companies/{line['company']}/customerPaymentJournals/{line['journal']}"
                    f"/customerPayments/{line['id']}"
                )
                direct = (
                    f"{sandbox.api_url()}/companies({line['company']})/customerPaymentJournals"
                    f"({line['journal']})/customerPayments({line['id']})"
                )
                specific = rng.random() < 0.7
                ops.append(
                    Operation(
                        number, line["id"], f"{proxy.url}/api/v2.0/{path}", direct, specific, fault
                    )
                )
            # Each worker owns whole lines, so faults and reads never interleave on a line.
            shards: dict[int, list[Operation]] = collections.defaultdict(list)
            for op in ops:
                shards[(op.number % len(lines)) % args.workers].append(op)
            started = time.perf_counter()

            async def run_all() -> None:
                await asyncio.gather(
                    *(
                        worker(shard, proxy.url, sandbox, args.seed + n)
                        for n, shard in shards.items()
                    )
                )

            asyncio.run(run_all())
            elapsed = time.perf_counter() - started

        unconsumed = len(sandbox.faults())
        writes = collections.Counter(
            r["body"]["comment"]
            for r in sandbox.requests()
            if r["method"] == "PATCH"
            and r.get("processedStatus") == 200
            and isinstance(r.get("body"), dict)
            and "comment" in r["body"]
        )
    for op in ops:
        op.writes = writes[f"op-{op.number}"]

    succeeded = [op for op in ops if op.status == 200]
    unknown = [op for op in ops if op.slug == "upstream-timeout"]
    definite = [op for op in ops if op.status != 200 and op.slug != "upstream-timeout"]
    lost = [op for op in definite if op.applied]
    phantom = [op for op in succeeded if not op.applied]
    duplicated = [op for op in ops if op.writes > 1 and op.specific_etag]
    resent = [op for op in ops if op.writes > 1 and not op.specific_etag]
    by_fault = collections.Counter(op.fault for op in ops if op.fault)
    slugs = collections.Counter(op.slug for op in definite)

    print(
        f"operations:                      {len(ops)} over {len(lines)} lines, "
        f"{sum(by_fault.values())} with an injected fault (seed {args.seed})"
    )
    print(f"succeeded (200):                 {len(succeeded)}")
    print(f"failed with a definite problem:  {len(definite)}  {dict(slugs)}")
    print(f"unknown outcome (504):           {len(unknown)}")
    print(f"lost:                            {len(lost)}")
    print(f"phantom:                         {len(phantom)}")
    print(f"duplicated:                      {len(duplicated)}")
    print(f"same values re-sent with If-Match * after an unknown outcome: {len(resent)}")
    print(f"fault rules never reached:       {unconsumed}")
    print(f"elapsed:                         {elapsed:.1f} s")
    return 0 if not (lost or phantom or duplicated) else 1


if __name__ == "__main__":
    sys.exit(main())
