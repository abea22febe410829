"""Cold import cost of function_app, without and with the Application Insights exporter.

Runs ``python -X importtime -c "import function_app"`` several times in fresh
interpreters, once with no Application Insights settings (the exporter is never
imported) and once with a dummy connection string (the exporter is imported and
configured, as in Azure), and prints the cumulative import time of function_app.

The dummy connection string points at a closed loopback port and SDK self-statistics
are off, so nothing leaves the machine; no record is emitted, so nothing is sent.

    .venv/bin/python bench/import_time.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINE_RE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \|\s*function_app$")


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
    return env


def one_run(with_telemetry: bool) -> float:
    """Cumulative import time of function_app in milliseconds."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import function_app"],
        cwd=ROOT,
        env=environment(with_telemetry),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for line in result.stderr.splitlines():
        match = _LINE_RE.match(line.strip())
        if match:
            return int(match.group(1)) / 1000
    raise RuntimeError("no import time line for function_app:\n" + result.stderr[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    one_run(False)  # warm the file cache so the first measured run is not an outlier
    results: dict[bool, list[float]] = {False: [], True: []}
    # Alternated, so that a change in machine load affects both sides alike.
    for _ in range(args.runs):
        for with_telemetry in (False, True):
            results[with_telemetry].append(one_run(with_telemetry))
    for label, with_telemetry in (("without telemetry", False), ("with telemetry", True)):
        times = results[with_telemetry]
        print(
            f"{label:18} median {statistics.median(times):7.1f} ms   "
            f"min {min(times):7.1f}   max {max(times):7.1f}   ({args.runs} runs)"
        )
    median = statistics.median(results[True]) - statistics.median(results[False])
    best = min(results[True]) - min(results[False])
    print(f"{'exporter costs':18} {median:+7.1f} ms (medians)   {best:+7.1f} ms (best runs)")


if __name__ == "__main__":
    main()
