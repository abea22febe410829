"""Chaos benchmark: thousands of PATCHes through the proxy while the sandbox
injects faults and a second writer races some of them, then a comparison of
what each answer claimed with what Business Central's request log proves.

Every operation carries its own request id, which the proxy forwards to
Business Central as x-ms-client-request-id, so the sandbox's log says exactly
how many of the proxy's PATCHes for that operation were applied. A racing
operation has a direct write to the same line (same values, straight to the
sandbox) sent while the proxy's PATCH is under way: the case where a line
"holds the values" although the proxy's own write never happened.

    .venv/bin/python bench/chaos.py [--operations 2000] [--seed 7] [--fault-rate 0.1]
                                    [--race-rate 0.1]
    .venv/bin/python bench/chaos.py --bulk [--jobs 20] [--items 100]   (bench/chaos_bulk.py)

Categories: succeeded (200, and applied exactly once: proven), failed
(a 4xx/429/502/503 answer, and the log shows it was not applied: proven),
unknown (409 outcome-unknown or 504), and three that must be 0: lost (a
definite failure that was applied), phantom (a 200 that was never applied),
duplicated (a specific-ETag update applied more than once). Exit code 0 only
when those three are 0. The log is read and cleared between rounds, so the
sandbox's 10,000-entry cap never hides a write.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
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
from tests.support.sandbox import RunningSandbox, start_sandbox  # noqa: E402

# Each kind is a fault rule aimed at one PATCH of one line (path = its id).
FAULTS: dict[str, dict[str, Any]] = {
    "429 Retry-After 1": {"status": 429, "code": "Application_TooManyRequests", "retryAfter": 1},
    "429 no Retry-After": {"status": 429, "code": "Application_TooManyRequests"},
    "429 Retry-After 60": {"status": 429, "code": "Application_TooManyRequests", "retryAfter": 60},
    "503 Retry-After 1": {"status": 503, "code": "Internal_TenantUnavailable", "retryAfter": 1},
    "502": {"status": 502, "code": "Unknown"},
    "504": {"status": 504, "code": "Unknown"},
    "500": {"status": 500, "code": "Internal_ServerError"},
    # Held a while before the drop, so that a racing writer can land in between.
    "drop before": {"drop": "before", "delayMs": 150},
    "drop after": {"drop": "after"},
    "delay past read timeout": {"delayMs": 1200},
    "401 once": {"status": 401, "code": "Authentication_InvalidCredentials"},
    # Business Central claims success but did not apply the change.
    "false 200": {"status": 200, "rawBody": "{not json"},
    # Applied, but the answer's compressed body does not decompress.
    "undecodable 200": {"corruptBody": True},
    "malformed 500": {"status": 500, "rawBody": "<html>oops"},
    # Applied, then a gateway's 503 with its own page instead of the answer.
    "503 gateway after the write": {"status": 503, "rawBody": "<html>503", "processFirst": True},
    # Applied, then a gateway's 504.
    "504 after the write": {"status": 504, "rawBody": "<html>504", "processFirst": True},
}
# A false 2xx while someone else writes the very same values cannot be told
# from success by any client (the contract trusts a 2xx and reads the line
# back): such pairs would measure the emulator's lie, not the proxy.
NO_RACE_WITH = frozenset({"false 200"})
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
    racing: bool
    request_id: str = ""
    status: int = 0
    slug: str | None = None
    writes: int = 0


UNKNOWN_SLUGS = ("upstream-timeout", "outcome-unknown")


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
    headers = {"Content-Type": "application/json", "x-request-id": op.request_id}
    sent = proxy.patch(op.url, content=body, headers={**headers, "If-Match": if_match})
    if op.racing:
        delay = rng.uniform(0.0, 0.3)

        async def race() -> None:
            await asyncio.sleep(delay)
            # The same values, written by someone else. If it reaches the
            # sandbox first it may take the line's fault rule itself (and be
            # dropped): a racer's fate does not matter, only the proxy's answer.
            with contextlib.suppress(httpx.HTTPError):
                await direct.patch(
                    op.direct_url,
                    content=body,
                    headers={"Content-Type": "application/json", "If-Match": "*"},
                )

        response, _ = await asyncio.gather(sent, race())
    else:
        response = await sent
    op.status = response.status_code
    if response.status_code != 200:
        op.slug = str(response.json().get("type", "")).rsplit("#", 1)[-1]


async def worker(
    ops: list[Operation],
    proxy: httpx.AsyncClient,
    direct: httpx.AsyncClient,
    sandbox: RunningSandbox,
    rng: random.Random,
) -> None:
    for op in ops:
        await run_operation(op, proxy, direct, sandbox, rng)


def proxy_writes(sandbox: RunningSandbox) -> collections.Counter[str]:
    """Applied PATCHes per request id, from the log; then the log is cleared."""
    entries = sandbox.requests()
    sandbox.clear_requests()
    return collections.Counter(
        r["headers"].get("x-ms-client-request-id", "")
        for r in entries
        if r["method"] == "PATCH" and r.get("processedStatus") == 200
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--race-rate", type=float, default=0.1)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--round", type=int, default=400, help="operations between log reads")
    parser.add_argument("--bulk", action="store_true", help="bulk jobs instead of single PATCHes")
    parser.add_argument("--jobs", type=int, default=20, help="with --bulk: jobs, one at a time")
    parser.add_argument("--items", type=int, default=100, help="with --bulk: updates per job")
    args = parser.parse_args()
    if args.bulk:
        from bench.chaos_bulk import run

        logging.getLogger("shared").setLevel(logging.ERROR)
        return run(args.jobs, args.items, args.seed, args.fault_rate, args.race_rate)
    rng = random.Random(args.seed)
    # The proxy warns about every undecodable answer; the table says enough.
    logging.getLogger("shared").setLevel(logging.ERROR)

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        os.environ.update(SETTINGS)
        import function_app
        from shared.upstream.runtime import aclose_runtime

        async def setup() -> list[dict[str, str]]:
            async with httpx.AsyncClient(timeout=30) as http:
                return await create_lines(sandbox, http, args.lines)

        lines = asyncio.run(setup())
        host = create_local_host(
            function_app.app, host_json=ROOT / "host.json", on_shutdown=[aclose_runtime]
        )
        writes: collections.Counter[str] = collections.Counter()
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
                racing = rng.random() < args.race_rate and fault not in NO_RACE_WITH
                ops.append(
                    Operation(
                        number,
                        line["id"],
                        f"{proxy.url}/api/v2.0/{path}",
                        direct,
                        specific,
                        fault,
                        racing,
                        request_id=f"chaos-{args.seed}-{number}",
                    )
                )
            sandbox.clear_requests()
            started = time.perf_counter()

            async def run_all() -> None:
                async with (
                    httpx.AsyncClient(timeout=60) as proxy_http,
                    httpx.AsyncClient(timeout=30, headers=sandbox.auth_headers()) as direct,
                ):
                    for first in range(0, len(ops), args.round):
                        # Each worker owns whole lines: faults and reads never interleave.
                        shards: dict[int, list[Operation]] = collections.defaultdict(list)
                        for op in ops[first : first + args.round]:
                            shards[(op.number % len(lines)) % args.workers].append(op)
                        await asyncio.gather(
                            *(
                                worker(
                                    shard,
                                    proxy_http,
                                    direct,
                                    sandbox,
                                    random.Random(args.seed * 1000 + first + n),
                                )
                                for n, shard in shards.items()
                            )
                        )
                        writes.update(proxy_writes(sandbox))

            asyncio.run(run_all())
            elapsed = time.perf_counter() - started
        unconsumed = len(sandbox.faults())
    for op in ops:
        op.writes = writes[op.request_id]

    unknown = [op for op in ops if op.slug in UNKNOWN_SLUGS]
    answered_200 = [op for op in ops if op.status == 200]
    definite = [op for op in ops if op.status != 200 and op.slug not in UNKNOWN_SLUGS]
    succeeded = [op for op in answered_200 if op.writes >= 1]
    failed = [op for op in definite if op.writes == 0]
    lost = [op for op in definite if op.writes > 0]
    phantom = [op for op in answered_200 if op.writes == 0]
    duplicated = [op for op in ops if op.writes > 1 and op.specific_etag]
    resent = [op for op in ops if op.writes > 1 and not op.specific_etag]
    by_fault = collections.Counter(op.fault for op in ops if op.fault)
    slugs = collections.Counter(op.slug for op in definite)
    unknown_slugs = collections.Counter(op.slug for op in unknown)
    racing = [op for op in ops if op.racing]

    print(
        f"operations: {len(ops)} over {len(lines)} lines, seed {args.seed}; "
        f"{sum(by_fault.values())} with an injected fault, {len(racing)} racing a second writer"
    )
    rows = [
        ("succeeded (200, applied: proven)", len(succeeded), ""),
        ("failed (not applied: proven)", len(failed), str(dict(slugs))),
        ("unknown (409 outcome-unknown / 504)", len(unknown), str(dict(unknown_slugs))),
        ("lost", len(lost), "must be 0"),
        ("phantom", len(phantom), "must be 0"),
        ("duplicated", len(duplicated), "must be 0"),
    ]
    print(f"| {'category':<38} | {'count':>5} | detail")
    print(f"|{'-' * 40}|{'-' * 7}|-------")
    for name, count, detail in rows:
        print(f"| {name:<38} | {count:>5} | {detail}")
    print(f"same values re-sent with If-Match * after a lost answer: {len(resent)}")
    print(
        f"racing operations answered 200: {sum(op.status == 200 for op in racing)}, "
        f"outcome-unknown: {sum(op.slug == 'outcome-unknown' for op in racing)}, "
        f"412: {sum(op.status == 412 for op in racing)}"
    )
    for name, wrong in (("lost", lost), ("phantom", phantom), ("duplicated", duplicated)):
        for op in wrong[:20]:
            print(
                f"  {name}: op {op.number} fault={op.fault} racing={op.racing} "
                f"etag={'specific' if op.specific_etag else '*'} status={op.status} "
                f"writes={op.writes}"
            )
    print(f"fault rules never reached: {unconsumed}")
    print(f"elapsed: {elapsed:.1f} s")
    return 0 if not (lost or phantom or duplicated) else 1


if __name__ == "__main__":
    sys.exit(main())
