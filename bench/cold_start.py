"""From process start to the first answered PATCH, with and without the exporter.

    .venv/bin/python bench/cold_start.py [--runs 7] [--base-tree PATH]

Each run starts a fresh proxy process (the app on the local host, ``bench/servers.py``,
bytecode not written so every module is compiled as on an instance that finds none),
against a sandbox in a process of its own, and sends one PATCH as soon as the process
says it serves. Printed, min/median/max over ``--runs``, without Application Insights
and with a connection string (to a closed loopback port, as ``bench/import_time.py``:
nothing leaves the machine), alternating:

* ready: from starting the process to its server accepting requests (the interpreter,
  importing ``function_app`` and indexing it, and the local host's own start);
* first PATCH: the first request's own time (the per-process objects, the token, the
  exporter's start, whatever is built on first use) and, for comparison, the second's;
* total: from starting the process to the first PATCH's answer.

``--base-tree`` measures another checkout's app the same way, beside this one.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.servers import Child, spawn  # noqa: E402

BODY = b'{"amount": 1234.56, "comment": "first"}'


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def exporter_settings() -> dict[str, str]:
    port = closed_loopback_port()
    return {
        "APPLICATIONINSIGHTS_CONNECTION_STRING": (
            "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
            f"IngestionEndpoint=http://127.0.0.1:{port}/;LiveEndpoint=http://127.0.0.1:{port}/"
        ),
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
        "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    }


def patch_path(sandbox: Child) -> str:
    company = sandbox.info["seed"]["companies"][0]
    journal = company["journals"][0]
    return (
        f"/api/v2.0/companies/{company['id']}/customerPaymentJournals/{journal['id']}"
        f"/customerPayments/{journal['payments'][0]['id']}"
    )


def one_run(sandbox: Child, tree: Path, exporter: bool) -> dict[str, float]:
    env = {**sandbox.info["environment"], "PYTHONDONTWRITEBYTECODE": "1"}
    if exporter:
        env.update(exporter_settings())
    headers = {"Content-Type": "application/json", "If-Match": "*"}
    started = time.perf_counter()
    with spawn("proxy", "--tree", str(tree), env=env) as proxy:
        ready = time.perf_counter()
        with httpx.Client(timeout=60) as http:
            url = proxy.url + patch_path(sandbox)
            first = http.patch(url, content=BODY, headers=headers)
            answered = time.perf_counter()
            second = http.patch(url, content=BODY, headers=headers)
            again = time.perf_counter()
    if first.status_code != 200 or second.status_code != 200:
        raise SystemExit(f"PATCH answered {first.status_code}/{second.status_code}")
    return {
        "ready": (ready - started) * 1000,
        "first": (answered - ready) * 1000,
        "second": (again - answered) * 1000,
        "total": (answered - started) * 1000,
    }


def line(label: str, values: list[float]) -> str:
    return (
        f"  {label:12} min {min(values):7.0f} ms  median {statistics.median(values):7.0f} ms  "
        f"max {max(values):7.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--base-tree", type=Path, help="another checkout, measured beside")
    args = parser.parse_args()
    trees = [("this", ROOT)] + ([("base", args.base_tree.resolve())] if args.base_tree else [])
    results: dict[tuple[str, bool], list[dict[str, float]]] = {}
    with spawn("sandbox") as sandbox:
        one_run(sandbox, ROOT, False)  # the file cache warm, as on an instance that ran before
        for _ in range(args.runs):
            for name, tree in trees:
                for exporter in (False, True):
                    results.setdefault((name, exporter), []).append(
                        one_run(sandbox, tree, exporter)
                    )
    for (name, exporter), runs in results.items():
        print(f"{name}, {'with' if exporter else 'without'} the exporter ({len(runs)} runs):")
        for key, label in (
            ("ready", "ready"),
            ("first", "first PATCH"),
            ("second", "second"),
            ("total", "total"),
        ):
            print(line(label, [run[key] for run in runs]))


if __name__ == "__main__":
    main()
