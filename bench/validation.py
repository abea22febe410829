"""How long a bulk body's validation holds a worker, and whether other
requests wait for it.

    .venv/bin/python bench/validation.py [--runs 5] [--rounds 20]

Prints, each the median of ``--runs``:
* a hostile 2 MiB body (1,000 updates, each with about 60 misspelled keys)
  refused with its capped 422, in process (target under 0.2 s);
* 1,000 valid updates validated, in process (target under 0.1 s);
* then ``/api/health`` asked for over and over while 4 hostile bodies arrive
  at once, ``--rounds`` times: p50 and p99 (target p99 under 20 ms).

For the last figure the proxy (the local host and the app, as ``make run``
serves them) runs in a process of its own, as a Functions worker does; the 4
senders run in a second process and the health prober in this one, with the
sandbox (which these bodies never reach: each is refused before Business
Central is called). So the figure holds what the proxy's process does with
the bodies: reading them over HTTP (in Azure the host does that, and the
worker is handed the body), parsing and refusing them; not the interpreter
time of the benchmark's own senders. The machine's cores are still shared by
all three processes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.serving import serve_in_thread  # noqa: E402
from shared.bulk.request import parse_bulk_request  # noqa: E402
from shared.process.jsonio import dumps_exact  # noqa: E402
from shared.process.problems import Problem  # noqa: E402
from shared.process.settings import Settings  # noqa: E402
from tests.support.sandbox import start_sandbox  # noqa: E402

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


# --- the three processes of the last figure ------------------------------------------


@contextlib.contextmanager
def _child(*arguments: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """This script in another process, spoken to line by line; closing its
    stdin tells it to finish."""
    process = subprocess.Popen(
        [sys.executable, __file__, *arguments],
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"{process.args!r} ended early ({process.wait()})")
    return line.strip()


def serve_proxy() -> None:
    """The proxy in this process until stdin closes; its URL on stdout."""
    import function_app
    from funchost.http import create_local_host
    from shared.upstream import runtime

    host = create_local_host(
        function_app.app, host_json=ROOT / "host.json", on_shutdown=[runtime.aclose_runtime]
    )
    with serve_in_thread(host) as proxy:
        print(proxy.url, flush=True)
        sys.stdin.read()


def send(url: str, body_file: str) -> None:
    """On each "go" line, 4 bodies at once; then their statuses on one line."""
    body = Path(body_file).read_bytes()
    print("ready", flush=True)

    def post_once(statuses: list[int]) -> None:
        with httpx.Client(timeout=60) as http:
            statuses.append(http.post(url, content=body, headers=HEADERS).status_code)

    for _ in sys.stdin:
        statuses: list[int] = []
        senders = [threading.Thread(target=post_once, args=(statuses,)) for _ in range(4)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        print(" ".join(map(str, statuses)), flush=True)


def _probe(
    health_url: str, senders: subprocess.Popen[str], rounds: int
) -> tuple[list[int], list[float]]:
    """Health asked for as long as any of each round's four is in flight."""
    assert senders.stdin is not None
    if _line(senders) != "ready":
        raise SystemExit("the senders did not start")
    statuses: list[int] = []
    latencies: list[float] = []

    def read_answer(answered: list[str]) -> None:
        answered.append(_line(senders))

    with httpx.Client(timeout=60) as http:
        http.get(health_url)
        for _ in range(rounds):
            answered: list[str] = []
            reader = threading.Thread(target=read_answer, args=(answered,))
            senders.stdin.write("go\n")
            senders.stdin.flush()
            reader.start()
            while reader.is_alive():
                started = time.perf_counter()
                if http.get(health_url).status_code != 200:
                    raise SystemExit("health failed")
                latencies.append(time.perf_counter() - started)
            reader.join()
            if not answered:
                raise SystemExit("the senders stopped")
            statuses.extend(int(status) for status in answered[0].split())
    return statuses, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20, help="rounds of 4 bodies at once")
    parser.add_argument("--serve-proxy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send", nargs=2, metavar=("URL", "BODY_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy:
        serve_proxy()
        return 0
    if args.send:
        send(*args.send)
        return 0
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
    print(
        f"hostile body: {len(hostile) / 2**20:.2f} MiB, refused in {refused_ms:.1f} ms "
        "(target under 200 ms)"
    )
    print(
        f"1,000 valid updates: {len(valid) / 2**20:.2f} MiB, validated in {accepted_ms:.1f} ms "
        "(target under 100 ms)"
    )
    print(f"(each the median of {args.runs} runs, in process)")

    with start_sandbox() as sandbox:
        company = sandbox.seed["companies"][0]
        journal = company["journals"][0]
        start_path = (
            f"/api/v2.0/companies/{company['id']}"
            f"/customerPaymentJournals/{journal['id']}/bulkPaymentUpdates"
        )
        with (
            tempfile.NamedTemporaryFile(suffix=".json") as body_file,
            _child("--serve-proxy", env=sandbox.environment_variables()) as proxy,
        ):
            body_file.write(hostile)
            body_file.flush()
            proxy_url = _line(proxy)
            with _child("--send", proxy_url + start_path, body_file.name) as senders:
                statuses, latencies = _probe(proxy_url + "/api/health", senders, args.rounds)
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"/api/health while 4 hostile bodies arrive at once, {args.rounds} rounds "
            f"({len(statuses)} refused, "
            f"all {sorted(set(statuses))}): p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms over {len(latencies)} requests (target p99 under 20 ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
