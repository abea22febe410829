"""How long a bulk body's validation holds a worker, and whether other
requests wait for it.

    .venv/bin/python bench/validation.py [--runs 5] [--rounds 20]

Prints, each the median of ``--runs``:
* a hostile 2 MiB body (1,000 updates, each with about 60 misspelled keys)
  refused with its capped 422, in process (target under 0.2 s);
* 1,000 valid updates validated, in process (target under 0.1 s);
* then, through the local host and the sandbox, ``/api/health`` asked for
  over and over while 4 hostile bodies arrive at once, ``--rounds`` times:
  p50 and p99 (target p99 under 20 ms). The senders run in this process
  too, so their share of the interpreter is in these figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from funchost.http import create_local_host  # noqa: E402
from sandbox.serving import serve_in_thread  # noqa: E402
from shared.bulk.jobs import parse_bulk_request  # noqa: E402
from shared.process.jsonio import dumps_exact  # noqa: E402
from shared.process.problems import Problem  # noqa: E402
from shared.process.settings import Settings  # noqa: E402
from tests.sandbox_fixtures import start_sandbox  # noqa: E402

ENV = {
    "BC_TENANT_ID": "00000000-0000-0000-0000-000000000001",
    "BC_ENVIRONMENT": "production",
    "BC_BASE_URL": "https://bc.example.test",
}
HEADERS = {"content-type": "application/json"}


def hostile_body(limit: int) -> bytes:
    """Updates with misspelled keys, as many as fit in ``limit`` bytes."""
    updates: list[dict[str, Any]] = []
    item = {
        "id": str(uuid.uuid4()),
        "ifMatch": "*",
        "changes": {f"descriptionOfThePaymentLine{n:02d}": 1 for n in range(60)},
    }
    size = len(dumps_exact(item)) + 1
    updates = [{**item, "id": str(uuid.uuid4())} for _ in range(min(1000, (limit - 20) // size))]
    return dumps_exact({"updates": updates})


def valid_body(count: int) -> bytes:
    updates = [
        {
            "id": str(uuid.uuid4()),
            "ifMatch": "*",
            "changes": {"comment": f"n {n}", "amount": Decimal("12.5")},
        }
        for n in range(count)
    ]
    return dumps_exact({"updates": updates})


def median_s(runs: int, work: Any) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20, help="rounds of 4 bodies at once")
    args = parser.parse_args()
    settings = Settings.from_env(ENV)
    hostile = hostile_body(settings.bulk_max_body_bytes)
    valid = valid_body(1000)

    def refuse() -> None:
        try:
            parse_bulk_request(
                settings, "v2.0", {**HEADERS, "content-length": str(len(hostile))}, hostile
            )
        except Problem as problem:
            body = problem.as_json("https://x.test/problems", "bench")
            if problem.status != 422 or len(body["errors"]) != 101:
                raise SystemExit(f"unexpected answer: {problem.status}") from None
        else:
            raise SystemExit("the hostile body was accepted")

    def accept() -> None:
        items = parse_bulk_request(
            settings, "v2.0", {**HEADERS, "content-length": str(len(valid))}, valid
        )
        assert len(items) == 1000

    refused_ms = median_s(args.runs, refuse) * 1000
    accepted_ms = median_s(args.runs, accept) * 1000
    print(f"hostile body: {len(hostile) / 2**20:.2f} MiB, refused in {refused_ms:.1f} ms")
    print(f"1,000 valid updates: {len(valid) / 2**20:.2f} MiB, validated in {accepted_ms:.1f} ms")
    print(f"(each the median of {args.runs} runs, in process)")

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        import function_app
        from shared.upstream import runtime

        host = create_local_host(
            function_app.app, host_json=ROOT / "host.json", on_shutdown=[runtime.aclose_runtime]
        )
        with serve_in_thread(host) as proxy:
            company = sandbox.seed["companies"][0]
            journal = company["journals"][0]
            start_url = (
                f"{proxy.url}/api/v2.0/companies/{company['id']}"
                f"/customerPaymentJournals/{journal['id']}/bulkPaymentUpdates"
            )
            health_url = f"{proxy.url}/api/health"
            statuses: list[int] = []
            latencies: list[float] = []

            def post_once() -> None:
                with httpx.Client(timeout=60) as http:
                    statuses.append(
                        http.post(start_url, content=hostile, headers=HEADERS).status_code
                    )

            with httpx.Client(timeout=60) as http:
                http.get(health_url)
                for _ in range(args.rounds):
                    senders = [threading.Thread(target=post_once) for _ in range(4)]
                    for thread in senders:
                        thread.start()
                    # Health is asked for as long as any of the four is in flight.
                    while any(thread.is_alive() for thread in senders):
                        started = time.perf_counter()
                        if http.get(health_url).status_code != 200:
                            raise SystemExit("health failed")
                        latencies.append(time.perf_counter() - started)
                    for thread in senders:
                        thread.join()
            latencies.sort()
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            print(
                f"/api/health while 4 hostile bodies arrive at once, {args.rounds} rounds "
                f"({len(statuses)} refused, "
                f"all {sorted(set(statuses))}): p50 {statistics.median(latencies) * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms over {len(latencies)} requests"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
