"""Cold import cost of function_app: the app's own share and the frameworks',
without and with the Application Insights exporter.

Runs ``python -X importtime -c "import function_app"`` several times in fresh
interpreters, once with no Application Insights settings and once with a dummy
connection string, as in Azure (the exporter then starts with the first request, so
the import should cost about the same). For each it prints the cumulative import time
of function_app and splits it in two:

* the app's own share: the self time of ``function_app`` and ``shared.*`` (their
  module bodies: models, tables, documents built at import);
* the frameworks' share: everything those modules import (azure-functions, the
  Durable SDK and aiohttp, pydantic, httpx, azure-identity, OpenTelemetry, ...).

It also lists the app modules that cost most (medians). Bytecode is not written
(PYTHONDONTWRITEBYTECODE), so the app's modules are compiled in every run, as on an
instance that finds no bytecode for them. With the connection string it also times
the exporter's start, which the first request now pays. The dummy connection string
points at a closed loopback port and SDK self-statistics are off, so nothing leaves
the machine; no record is emitted, so nothing is sent.

    .venv/bin/python bench/import_time.py [--runs 7] [--top 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import socket
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINE_RE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")
APP_ROOT_MODULE = "function_app"
APP_PACKAGE = "shared"


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def environment(with_telemetry: bool) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))
    }
    env.update({"BC_TENANT_ID": "contoso.onmicrosoft.com", "PYTHONDONTWRITEBYTECODE": "1"})
    if with_telemetry:
        port = closed_loopback_port()
        env["APPLICATIONINSIGHTS_CONNECTION_STRING"] = (
            "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
            f"IngestionEndpoint=http://127.0.0.1:{port}/;LiveEndpoint=http://127.0.0.1:{port}/"
        )
        env["APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL"] = "true"
        env["APPLICATIONINSIGHTS_SDKSTATS_DISABLED"] = "true"
    return env


def is_app_module(name: str) -> bool:
    return name in (APP_ROOT_MODULE, APP_PACKAGE) or name.startswith(APP_PACKAGE + ".")


@dataclass(frozen=True)
class Run:
    """One cold import, in milliseconds."""

    total: float  # function_app's cumulative time
    own: float  # self time of the app's modules
    per_module: dict[str, float]  # self time of each app module
    exporter_start: float = 0.0  # telemetry.start_exporting() after the import

    @property
    def frameworks(self) -> float:
        return self.total - self.own


def parse(stderr: str) -> Run:
    total: float | None = None
    per_module: dict[str, float] = {}
    for line in stderr.splitlines():
        match = _LINE_RE.match(line.strip())
        if match is None:
            continue
        self_us, cumulative_us, _, name = match.groups()
        if is_app_module(name):
            per_module[name] = int(self_us) / 1000
        if name == APP_ROOT_MODULE:
            total = int(cumulative_us) / 1000
    if total is None:
        raise RuntimeError("no import time line for function_app:\n" + stderr[-2000:])
    return Run(total, sum(per_module.values()), per_module)


# After the import: how long the first request waits for the exporter to start.
_SCRIPT = (
    "import function_app, time\n"
    "from shared.process import telemetry\n"
    "started = time.perf_counter()\n"
    "telemetry.start_exporting()\n"
    "print((time.perf_counter() - started) * 1000)\n"
)


def one_run(with_telemetry: bool) -> Run:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _SCRIPT],
        cwd=ROOT,
        env=environment(with_telemetry),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    run = parse(result.stderr)
    return dataclasses.replace(run, exporter_start=float(result.stdout.split()[-1]))


def summary(label: str, runs: list[Run]) -> str:
    def line(name: str, values: list[float]) -> str:
        return (
            f"  {name:12} median {statistics.median(values):7.1f} ms   "
            f"min {min(values):7.1f}   max {max(values):7.1f}"
        )

    return "\n".join(
        [
            f"{label} ({len(runs)} runs)",
            line("total", [r.total for r in runs]),
            line("app's own", [r.own for r in runs]),
            line("frameworks", [r.frameworks for r in runs]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=8, help="app modules to list by self time")
    args = parser.parse_args()
    one_run(False)  # warm the file cache so the first measured run is not an outlier
    results: dict[bool, list[Run]] = {False: [], True: []}
    # Alternated, so that a change in machine load affects both sides alike.
    for _ in range(args.runs):
        for with_telemetry in (False, True):
            results[with_telemetry].append(one_run(with_telemetry))
    print(summary("without telemetry", results[False]))
    print(summary("with telemetry", results[True]))
    median = statistics.median(r.total for r in results[True]) - statistics.median(
        r.total for r in results[False]
    )
    print(f"exporter at import {median:+7.1f} ms (medians of the totals)")
    start = statistics.median(r.exporter_start for r in results[True])
    print(f"exporter start     {start:7.1f} ms (median; paid by the first request)")
    by_module: dict[str, list[float]] = defaultdict(list)
    for run in results[False] + results[True]:
        for name, ms in run.per_module.items():
            by_module[name].append(ms)
    costly = sorted(by_module.items(), key=lambda kv: -statistics.median(kv[1]))[: args.top]
    print("app modules by self time (median of all runs):")
    for name, values in costly:
        print(f"  {name:32} {statistics.median(values):6.1f} ms")


if __name__ == "__main__":
    main()
