"""What the makers' features cost in Business Central requests and time
(local host + sandbox, loopback, the Durable stand-in on the wall clock).

    .venv/bin/python bench/makers.py [--latency-ms 20] [--repeat 50] [--items 300]

Prints, with Business Central answering after ``--latency-ms``:

* Business Central requests per lookup: customers (all, by number, by part
  of the name), open invoices (all, by customer, by remaining amount), and
  suggested invoices for a line;
* Business Central requests per PATCH that touches neither customer nor
  invoice, and per checked PATCH (one that applies an invoice);
* the median and 95th percentile latency of each of those two PATCHes over
  ``--repeat`` runs, and the difference: what the application check adds;
* for a bulk job of ``--items`` updates that each name a customer and an
  invoice, in ``$batch`` requests of 100: the Business Central requests per
  batch of updates (the check's read and the batch itself), and the reads
  inside each check request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bulk import bulk_stack  # noqa: E402
from tests.support.sandbox import RunningSandbox, start_sandbox  # noqa: E402


def upstream(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """What the proxy sent (it always sends a client request id; direct reads do not)."""
    return [r for r in sandbox.requests() if "x-ms-client-request-id" in r["headers"]]


def counted(sandbox: RunningSandbox, call: Callable[[], httpx.Response]) -> int:
    sandbox.clear_requests()
    answer = call()
    if answer.status_code >= 400:
        raise SystemExit(f"{answer.request.url}: {answer.status_code} {answer.text[:300]}")
    return len(upstream(sandbox))


def timed(call: Callable[[], httpx.Response], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{answer.status_code} {answer.text[:300]}")
    return times


def summary(times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[18]
    return f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"


def run(sandbox: RunningSandbox, base: str, http: httpx.Client, args: argparse.Namespace) -> None:
    company = sandbox.seed["companies"][0]
    customers = {c["number"]: c["id"] for c in company["customers"]}
    invoices = {i["number"]: i["id"] for i in company["invoices"]}
    api = base.split("/customerPaymentJournals/")[0]
    line = f"{base}/customerPayments/{company['journals'][0]['payments'][0]['id']}"
    http.get(line).raise_for_status()  # a token and a connection, as a warm app has
    sandbox.set_latency(args.latency_ms)
    print(f"Business Central at {args.latency_ms} ms per request")

    lookups = {
        "customers, all": (f"{api}/customers", {}),
        "customers by number": (f"{api}/customers", {"number": "10000"}),
        "customers by part of the name": (f"{api}/customers", {"name": "Trad"}),
        "open invoices, all": (f"{api}/openSalesInvoices", {}),
        "open invoices of a customer": (
            f"{api}/openSalesInvoices",
            {"customerId": customers["10000"]},
        ),
        "open invoices by remaining amount": (
            f"{api}/openSalesInvoices",
            {"remainingAmount": "2000.50"},
        ),
        "suggested invoices for a line": (f"{line}/suggestedInvoices", {}),
    }
    for name, (url, params) in lookups.items():

        def lookup(url: str = url, params: dict[str, str] = params) -> httpx.Response:
            return http.get(url, params=params)

        print(f"  {name}: {counted(sandbox, lookup)} Business Central request(s)")

    def plain() -> httpx.Response:
        return http.patch(line, json={"comment": "bench"}, headers={"If-Match": "*"})

    def checked() -> httpx.Response:
        body = {"appliesToInvoiceId": invoices["103001"]}
        return http.patch(line, json=body, headers={"If-Match": "*"})

    print(f"  PATCH touching neither customer nor invoice: {counted(sandbox, plain)} request(s)")
    print(f"  PATCH applying an invoice (checked): {counted(sandbox, checked)} request(s)")
    plain_ms, checked_ms = timed(plain, args.repeat), timed(checked, args.repeat)
    added = statistics.median(checked_ms) - statistics.median(plain_ms)
    print(f"  unchecked PATCH x{args.repeat}: {summary(plain_ms)}")
    print(f"  checked PATCH x{args.repeat}: {summary(checked_ms)}")
    print(f"  added by the check: {added:.1f} ms at the median")

    ids = sandbox.add_lines(args.items)
    open_of = {"10000": "103001", "20000": "103002", "30000": "103003", "40000": "103005"}
    numbers = list(open_of)
    updates = [
        {
            "id": line_id,
            "ifMatch": "*",
            "changes": {
                "customerNumber": numbers[n % 4],
                "appliesToInvoiceNumber": open_of[numbers[n % 4]],
            },
        }
        for n, line_id in enumerate(ids)
    ]
    sandbox.clear_requests()
    started = http.post(f"{base}/bulkPaymentUpdates", json={"updates": updates})
    if started.status_code != 202:
        raise SystemExit(f"the job did not start: {started.status_code} {started.text[:300]}")
    while (status := httpx.get(started.headers["Location"], timeout=30)).status_code == 202:
        time.sleep(0.2)
    result = status.json()
    sent = upstream(sandbox)
    batches = [r for r in sent if r["path"].endswith("/$batch")]
    writes = [b for b in batches if b["body"]["requests"][0]["method"] == "PATCH"]
    reads = [b for b in batches if b["body"]["requests"][0]["method"] == "GET"]
    print(
        f"  bulk job of {args.items} checked updates: {result['counts']}, "
        f"{len(writes)} $batch of updates, {len(reads)} check request(s) "
        f"({len(reads) / len(writes):.1f} per batch), "
        f"{sorted(len(r['body']['requests']) for r in reads)} reads in them, "
        f"{len(sent)} Business Central requests in all"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--items", type=int, default=300)
    args = parser.parse_args()
    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        os.environ["BULK_BATCH_SIZE"] = "100"
        with bulk_stack(sandbox) as (base, _durable), httpx.Client(timeout=120) as http:
            run(sandbox, base, http, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
