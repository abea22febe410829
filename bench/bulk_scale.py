"""A bulk job at its limits, against the same batches sent straight to the sandbox.

    .venv/bin/python bench/bulk_scale.py [--items 10000] [--batch-size 100] [--concurrency 2]
        [--repeat 2] [--latency-ms 100] [--per-op-ms 5] [--base-tree PATH]

The sandbox and the proxy each run in a process of their own (``bench/servers.py``); the
proxy is the app on the local host with the Durable stand-in on the wall clock, as
``make run`` serves it, with ``BULK_MAX_ITEMS`` set to ``--items`` and a fresh process
for every job (so its peak memory is that job's). Business Central answers every request
after ``--latency-ms``, a ``$batch`` also ``--per-op-ms`` per operation. Each run prints:

* the sandbox's own time: as many ``$batch`` requests of the same size sent straight to
  it from this process, ``--concurrency`` in flight (a sliding window), just before;
* the job's time, from its start request to its orchestrator's last step (the stand-in's
  record), and its ratio to the sandbox's own time;
* the Business Central requests the job made, by kind;
* the orchestration: episodes, the worker's CPU over them (the SDK reading the history
  and the orchestrator replaying it), history events and characters at the end, the
  largest body one episode was handed, the input's and the output's characters;
* the proxy process's peak memory;
* the status answer: its pages (1,000 items each), the largest one's bytes, the time to
  fetch them all, and whether every item is there exactly once.

``--base-tree`` runs the same jobs on another checkout's app (e.g. a worktree of main),
alternating with this one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.servers import Child, spawn  # noqa: E402


def admin(sandbox: Child, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{sandbox.url}/_sandbox/{path}", json=body, timeout=120)
    response.raise_for_status()
    return response.json() if response.content else None


def journal(sandbox: Child) -> tuple[str, str]:
    company = sandbox.info["seed"]["companies"][0]
    return company["id"], company["journals"][0]["id"]


async def direct_batches(
    sandbox: Child, ids: list[str], batch_size: int, window: int, tag: str
) -> float:
    """Every batch of the job sent straight to the sandbox, ``window`` at a time."""
    company, journal_id = journal(sandbox)
    seed = sandbox.info["seed"]
    token = admin(sandbox, "POST", "identity/token")["access_token"]
    root = f"{sandbox.url}/v2.0/{seed['tenant']}/{seed['environment']}/api/v2.0"
    headers = {"Authorization": f"Bearer {token}", "Prefer": "odata.continue-on-error"}
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    gate = asyncio.Semaphore(window)

    async def one(http: httpx.AsyncClient, batch: list[str]) -> None:
        body = {
            "requests": [
                {
                    "id": str(n),
                    "method": "PATCH",
                    "url": f"companies({company})/customerPaymentJournals({journal_id})"
                    f"/customerPayments({line})",
                    "headers": {"Content-Type": "application/json", "If-Match": "*"},
                    "body": {"comment": f"{tag} {n}", "amount": 12.5},
                }
                for n, line in enumerate(batch)
            ]
        }
        async with gate:
            response = await http.post(f"{root}/$batch", json=body, headers=headers)
        response.raise_for_status()

    limits = httpx.Limits(max_connections=window + 2)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one(http, batch) for batch in batches))
        return time.perf_counter() - started


def run_job(proxy: Child, sandbox: Child, ids: list[str], tag: str) -> dict[str, Any]:
    company, journal_id = journal(sandbox)
    base = f"{proxy.url}/api/v2.0/companies/{company}/customerPaymentJournals/{journal_id}"
    updates = [
        {
            "id": line,
            "ifMatch": "*",
            "changes": {"comment": f"{tag} {n}", "amount": 12.5},
            "clientRef": str(n),
        }
        for n, line in enumerate(ids)
    ]
    admin(sandbox, "DELETE", "requests")
    with httpx.Client(timeout=300) as http:
        posted = time.time()
        response = http.post(
            f"{base}/bulkPaymentUpdates",
            json={"updates": updates},
            headers={"Idempotency-Key": f"{tag}-{uuid.uuid4()}"},
        )
        accepted_s = time.time() - posted
        if response.status_code != 202:
            raise SystemExit(f"the job did not start: {response.status_code} {response.text[:300]}")
        job_id = response.json()["jobId"]
        started_rss = int(proxy.ask("rss"))
        while True:
            (figures,) = [f for f in json.loads(proxy.ask("durable")) if f["id"] == job_id]
            if figures["status"] not in ("Running", "Pending"):
                break
            time.sleep(0.2)
        # From the start request (validation included) to the orchestrator's last step.
        job_s = figures["lastUpdated"] - posted
        pages, largest, fetch_s, items, answer = fetch_pages(http, response.headers["Location"])
    log = admin(sandbox, "GET", "requests")
    # The proxy sends a client request id with each request; this bench's own do not.
    sent = [r for r in log if "x-ms-client-request-id" in r["headers"]]
    kinds = Counter("$batch" if r["path"].endswith("$batch") else r["method"] for r in sent)
    arrivals = sorted(received(r) - posted for r in sent)
    seen = [item["id"] for item in items]
    return {
        "job_s": job_s,
        "accepted_s": accepted_s,
        "first_sent_s": arrivals[0] if arrivals else 0.0,
        "last_sent_s": arrivals[-1] if arrivals else 0.0,
        "bc_requests": len(sent),
        "bc_kinds": dict(kinds),
        "durable": figures,
        "peak_rss": int(proxy.ask("rss")),
        "start_rss": started_rss,
        "pages": pages,
        "largest_page": largest,
        "fetch_s": fetch_s,
        "counts": answer.get("counts"),
        "whole": sorted(seen) == sorted(ids) and len(seen) == len(set(seen)),
    }


def received(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["receivedAt"].replace("Z", "+00:00")).timestamp()


def fetch_pages(
    http: httpx.Client, url: str
) -> tuple[int, int, float, list[dict[str, Any]], dict[str, Any]]:
    """Every page of a finished job's status: pages, the largest one's bytes, the time
    they took, the items, and the first page."""
    pages, largest, items = 0, 0, []
    first: dict[str, Any] = {}
    started = time.perf_counter()
    next_url: str | None = url
    while next_url:
        response = http.get(next_url)
        if response.status_code != 200:
            raise SystemExit(f"status answered {response.status_code}: {response.text[:300]}")
        pages += 1
        largest = max(largest, len(response.content))
        page = response.json()
        first = first or page
        items.extend(page["items"])
        next_url = page.get("nextLink")
    return pages, largest, time.perf_counter() - started, items, first


def one_run(
    sandbox: Child, ids: list[str], args: argparse.Namespace, tree: Path | None, tag: str
) -> dict[str, Any]:
    own_s = asyncio.run(
        direct_batches(sandbox, ids, args.batch_size, args.concurrency, f"direct {tag}")
    )
    env = {
        **sandbox.info["environment"],
        "BULK_MAX_ITEMS": str(max(args.items, 1000)),
        "BULK_MAX_BODY_BYTES": str(max(2 * 1024 * 1024, args.items * 200)),
        "BULK_BATCH_SIZE": str(args.batch_size),
        "BULK_MAX_CONCURRENCY": str(args.concurrency),
    }
    options = ("--tree", str(tree)) if tree is not None else ()
    with spawn("proxy", *options, env=env) as proxy:
        result = run_job(proxy, sandbox, ids, tag)
    result["own_s"] = own_s
    return result


def report(name: str, run: dict[str, Any]) -> None:
    d = run["durable"]
    replay = d.get("replayCpuS")
    print(
        f"{name}: job {run['job_s']:.2f} s, sandbox's own {run['own_s']:.2f} s "
        f"({run['job_s'] / run['own_s']:.3f} x); {run['bc_requests']} BC requests "
        f"{run['bc_kinds']}; counts {run['counts']}, every item once: {run['whole']}\n"
        f"    accepted after {run['accepted_s']:.2f} s; requests reached Business Central from "
        f"{run['first_sent_s']:.2f} s to {run['last_sent_s']:.2f} s\n"
        f"    orchestration: {d['episodes']} episodes, worker CPU "
        f"{'n/a' if replay is None else f'{replay:.2f} s'}, {d['executions']} execution(s), "
        f"history {d['historyEvents']} events / {d['historyChars'] / 1e6:.2f} M chars, "
        f"largest episode {(d.get('largestEpisodeChars') or 0) / 1e6:.2f} M chars, "
        f"input {d['inputChars'] / 1e6:.2f} M, output {d['outputChars'] / 1e6:.2f} M chars, "
        f"activity runs {d['activityRuns']}\n"
        f"    proxy peak memory {run['peak_rss'] / 2**20:.0f} MiB "
        f"({run['start_rss'] / 2**20:.0f} MiB once the job was accepted); status: {run['pages']} "
        f"page(s), largest {run['largest_page'] / 1e6:.2f} MB, all fetched in "
        f"{run['fetch_s']:.2f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--per-op-ms", type=int, default=5)
    parser.add_argument("--base-tree", type=Path, help="another checkout's app, run beside")
    args = parser.parse_args()
    batches = math.ceil(args.items / args.batch_size)
    print(
        f"{args.items} updates in {batches} batches of {args.batch_size}, "
        f"{args.concurrency} in flight; Business Central at {args.latency_ms} ms a request "
        f"and {args.per_op_ms} ms a $batch operation"
    )
    with spawn("sandbox") as sandbox:
        company, journal_id = journal(sandbox)
        ids: list[str] = []
        while len(ids) < args.items:
            count = min(10000, args.items - len(ids))
            body = {"companyId": company, "journalId": journal_id, "count": count}
            ids += admin(sandbox, "POST", "lines", body)["ids"]
        latency = {"ms": args.latency_ms, "perBatchOperationMs": args.per_op_ms}
        admin(sandbox, "POST", "latency", latency)
        trees: list[tuple[str, Path | None]] = [("this", None)]
        if args.base_tree is not None:
            trees.append(("base", args.base_tree))
        ratios: dict[str, list[float]] = {name: [] for name, _ in trees}
        for attempt in range(args.repeat):
            for name, tree in trees if attempt % 2 == 0 else list(reversed(trees)):
                run = one_run(sandbox, ids, args, tree, f"{name}{attempt}")
                report(name, run)
                ratios[name].append(run["job_s"] / run["own_s"])
        for name, values in ratios.items():
            print(
                f"{name}: job / sandbox's own time: min {min(values):.3f}, "
                f"median {statistics.median(values):.3f}, max {max(values):.3f}"
            )


if __name__ == "__main__":
    main()
