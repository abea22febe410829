"""What finding lines costs through the proxy (local host + sandbox, loopback).

    .venv/bin/python bench/lists.py [--lines 5000] [--latency-ms 20] [--lookups 100]

Prints, for a journal of ``--lines`` extra lines with Business Central
answering after ``--latency-ms``:

* paging through the whole journal by following ``nextLink`` with top=100
  and top=1000: pages, Business Central requests, elapsed, lines per second;
* ``--lookups`` exact lookups by document number: Business Central requests
  per lookup and the median and 95th percentile latency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import RunningSandbox, start_sandbox  # noqa: E402


def page_through(http: httpx.Client, url: str, top: int) -> tuple[int, int]:
    pages = lines = 0
    response = http.get(url, params={"top": str(top)})
    while True:
        response.raise_for_status()
        body = response.json()
        pages += 1
        lines += len(body["value"])
        if "nextLink" not in body:
            return pages, lines
        response = http.get(body["nextLink"])


def upstream_count(sandbox: RunningSandbox) -> int:
    return sum(1 for r in sandbox.requests() if "x-ms-client-request-id" in r["headers"])


def run(sandbox: RunningSandbox, proxy_url: str, args: argparse.Namespace) -> None:
    sandbox.add_lines(args.lines)
    sandbox.set_latency(args.latency_ms)
    company = sandbox.seed["companies"][0]
    journal = company["journals"][0]
    url = (
        f"{proxy_url}/api/v2.0/companies/{company['id']}/customerPaymentJournals/"
        f"{journal['id']}/customerPayments"
    )
    with httpx.Client(timeout=120) as http:
        http.get(url, params={"top": "1"}).raise_for_status()  # token and connection warm
        for top in (100, 1000):
            sandbox.clear_requests()
            started = time.perf_counter()
            pages, lines = page_through(http, url, top)
            elapsed = time.perf_counter() - started
            print(
                f"top={top}: {lines} lines in {pages} pages, {upstream_count(sandbox)} "
                f"Business Central requests, {elapsed:.2f} s, {lines / elapsed:.0f} lines/s"
            )
        number = http.get(url, params={"top": "2"}).json()["value"][1]["documentNumber"]
        sandbox.clear_requests()
        times = []
        for _ in range(args.lookups):
            started = time.perf_counter()
            found = http.get(url, params={"documentNumber": number.lower()})
            times.append((time.perf_counter() - started) * 1000)
            found.raise_for_status()
            assert len(found.json()["value"]) == 1, found.text
        quantiles = statistics.quantiles(times, n=20)
        print(
            f"lookup by document number: {args.lookups} lookups, "
            f"{upstream_count(sandbox) / args.lookups:.2f} Business Central requests each, "
            f"median {statistics.median(times):.1f} ms, p95 {quantiles[18]:.1f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--lookups", type=int, default=100)
    args = parser.parse_args()

    from funchost.http import create_local_host
    from sandbox.serving import BackgroundServer
    from shared.process.settings import reset_settings
    from shared.upstream import runtime

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        import function_app  # reads its settings from the environment set just above

        host = create_local_host(
            function_app.app, host_json=ROOT / "host.json", on_shutdown=[runtime.aclose_runtime]
        )
        server = BackgroundServer(host).start()
        os.environ["WEBSITE_HOSTNAME"] = server.url.removeprefix("http://")
        reset_settings()
        try:
            run(sandbox, server.url, args)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
