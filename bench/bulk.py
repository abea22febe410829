"""Bulk benchmark: N updates as N single PATCHes versus one bulk job.

The sandbox answers every Business Central request after 100 ms, a $batch
also 5 ms per operation, with Business Central's default per-principal limits
(5 at once, 95 queued). The proxy runs in the local host with the Durable
stand-in on the wall clock, so the job is orchestrated exactly as `make run`
serves it. Printed: wall time and Business Central requests of each; for the
bulk job also its ideal time under that latency model,
ceil(batches / BULK_MAX_CONCURRENCY) x (100 ms + 100 x 5 ms), the most
batches in flight at once, when each batch reached Business Central, and the
median of a few runs (the machine may be shared: single runs are noisy).

    .venv/bin/python bench/bulk.py [--items 1000] [--concurrency 2 1 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from funchost.durable import DurableStandIn, WallClock  # noqa: E402
from funchost.http import create_local_host  # noqa: E402
from sandbox.serving import serve_in_thread  # noqa: E402
from tests.support.sandbox import RunningSandbox, start_sandbox  # noqa: E402

LATENCY_MS = 100
PER_OPERATION_MS = 5
SINGLE_CONCURRENCY = 5
BATCH_SIZE = 100
# A flow waits Retry-After (2 s) between polls; polls cost the host work too.
POLL_S = 0.5


def proxy_requests(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    # The proxy always sends a client request id; the bench's own calls do not.
    return [r for r in sandbox.requests() if "x-ms-client-request-id" in r["headers"]]


def received(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["receivedAt"].replace("Z", "+00:00")).timestamp()


async def singles(base: str, ids: list[str]) -> tuple[float, int]:
    gate = asyncio.Semaphore(SINGLE_CONCURRENCY)
    ok = 0

    async def one(http: httpx.AsyncClient, n: int, line: str) -> None:
        nonlocal ok
        async with gate:
            response = await http.patch(
                f"{base}/customerPayments/{line}",
                json={"comment": f"single {n}"},
                headers={"If-Match": "*"},
            )
        ok += response.status_code == 200

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:
        await asyncio.gather(*(one(http, n, line) for n, line in enumerate(ids)))
    return time.perf_counter() - started, ok


def direct_batch_s(sandbox: RunningSandbox, ids: list[str]) -> float:
    """One full $batch sent straight to the sandbox (median of 3): the
    emulator's own work comes on top of the configured latency."""
    times = []
    headers = {**sandbox.auth_headers(), "Prefer": "odata.continue-on-error"}
    for attempt in range(3):
        body = {
            "requests": [
                sandbox.patch_operation(str(n), line, {"comment": f"direct {attempt}"})
                for n, line in enumerate(ids[:BATCH_SIZE])
            ]
        }
        started = time.perf_counter()
        httpx.post(f"{sandbox.api_url()}/$batch", json=body, headers=headers, timeout=60)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class JobRun:
    started_at: float  # wall clock (the request log's receivedAt is too)
    accepted_s: float
    seen_s: float  # when a caller polling every POLL_S saw the result
    result: dict[str, Any]


def bulk(http: httpx.Client, base: str, ids: list[str], tag: str) -> JobRun:
    updates = [
        {"id": line, "ifMatch": "*", "changes": {"comment": f"{tag} {n}"}, "clientRef": str(n)}
        for n, line in enumerate(ids)
    ]
    started_at = time.time()
    response = http.post(f"{base}/bulkPaymentUpdates", json={"updates": updates})
    accepted_s = time.time() - started_at
    if response.status_code != 202:
        raise SystemExit(f"the job did not start: {response.status_code} {response.text[:300]}")
    while True:
        # No credentials: the status URL's token is all a poller needs.
        status = httpx.get(response.headers["Location"], timeout=30)
        if status.status_code == 200:
            return JobRun(started_at, accepted_s, time.time() - started_at, status.json())
        if status.status_code != 202:
            raise SystemExit(f"polling failed: {status.status_code} {status.text[:300]}")
        time.sleep(POLL_S)


@contextlib.contextmanager
def bulk_stack(sandbox: RunningSandbox) -> Iterator[tuple[str, DurableStandIn]]:
    """The app on the local host with the Durable stand-in on the wall clock,
    against ``sandbox`` (whose settings must be in the environment): the first
    seeded journal's URL, and the stand-in."""
    import function_app
    from shared.process.settings import reset_settings
    from shared.upstream import runtime

    durable = DurableStandIn(function_app.app, clock=WallClock())
    host = create_local_host(
        function_app.app,
        host_json=ROOT / "host.json",
        on_shutdown=[runtime.aclose_runtime],
        durable=durable,
    )
    with serve_in_thread(host) as proxy:
        os.environ["WEBSITE_HOSTNAME"] = proxy.url.removeprefix("http://")
        reset_settings()
        company = sandbox.seed["companies"][0]
        journal = company["journals"][0]
        yield (
            f"{proxy.url}/api/v2.0/companies/{company['id']}"
            f"/customerPaymentJournals/{journal['id']}",
            durable,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 1, 4])
    parser.add_argument("--repeat", type=int, default=3, help="bulk jobs per setting")
    args = parser.parse_args()

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        os.environ["BULK_BATCH_SIZE"] = str(BATCH_SIZE)
        from shared.process.settings import reset_settings

        with bulk_stack(sandbox) as (base, durable), httpx.Client(timeout=120) as http:
            ids = sandbox.add_lines(args.items)
            sandbox.set_latency(LATENCY_MS, PER_OPERATION_MS)
            http.get(f"{base}/customerPayments/{ids[0]}")  # a token, as a warm app has one

            print(
                f"{args.items} updates; Business Central at {LATENCY_MS} ms per request and "
                f"{PER_OPERATION_MS} ms per $batch operation, default limits"
            )
            sandbox.clear_requests()
            single_s, ok = asyncio.run(singles(base, ids))
            print(
                f"singles at concurrency {SINGLE_CONCURRENCY}: {single_s:.2f} s, "
                f"{len(proxy_requests(sandbox))} BC requests, {ok} answered 200"
            )

            batch_s = (LATENCY_MS + BATCH_SIZE * PER_OPERATION_MS) / 1000
            batches = math.ceil(args.items / BATCH_SIZE)
            measured_s = direct_batch_s(sandbox, ids)
            print(
                f"one full $batch sent straight to the sandbox: {measured_s:.3f} s "
                f"(the latency model says {batch_s:.3f} s)"
            )
            for cap in args.concurrency:
                os.environ["BULK_MAX_CONCURRENCY"] = str(cap)
                reset_settings()
                ideal = math.ceil(batches / cap) * batch_s
                times = []
                for attempt in range(args.repeat):
                    durable.reset()
                    sandbox.clear_requests()
                    run = bulk(http, base, ids, f"bulk {cap}.{attempt}")
                    (view,) = durable.instances()
                    # When the job finished (the stand-in keeps the wall clock),
                    # not when the next poll happened to see it.
                    job_s = view.last_updated.timestamp() - run.started_at
                    times.append(job_s)
                    sent = proxy_requests(sandbox)
                    arrivals = " ".join(f"{received(r) - run.started_at:.2f}" for r in sent)
                    print(
                        f"bulk job, BULK_MAX_CONCURRENCY {cap}: {job_s:.2f} s "
                        f"({job_s / ideal:.2f} x ideal {ideal:.2f} s), {len(sent)} BC requests "
                        f"({sum(r['path'].endswith('$batch') for r in sent)} $batch), "
                        f"{run.result['counts']}, peak "
                        f"{durable.activity_peaks['bulk_send_batch']} batches in flight\n"
                        f"    accepted after {run.accepted_s:.2f} s; batches reached BC at "
                        f"{arrivals} s; a caller polling every {POLL_S} s saw the result "
                        f"after {run.seen_s:.2f} s"
                    )
                median = statistics.median(times)
                achievable = math.ceil(batches / cap) * measured_s
                print(
                    f"  median {median:.2f} s = {median / ideal:.2f} x ideal "
                    f"({median / achievable:.2f} x {achievable:.2f} s, the same rounds at the "
                    f"measured batch time), {single_s / median:.1f} x faster than the singles "
                    f"(best {min(times):.2f} s = {min(times) / ideal:.2f} x ideal)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
