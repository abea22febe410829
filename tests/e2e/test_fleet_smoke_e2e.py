"""A tiny run of bench/fleet.py (the benchmark itself is not part of the tests): one
proxy instance, a few callers for two seconds, PATCHes and bulk jobs; every update it
was told about is checked against the sandbox's request log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_fleet_run_loses_and_doubles_nothing() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fleet.py"),
            *("--instances", "1", "--callers", "4", "--seconds", "2"),
            *("--bulk-every", "3", "--bulk-size", "5", "--lines", "40", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert (figures["lost"], figures["phantom"], figures["doubled"]) == (0, 0, 0)
    assert figures["run but never told"] == 0
    assert figures["answers"].get("200", 0) > 0
    assert set(figures["answers"]) <= {"200", "bulk start 202"}
    assert figures["bulk_jobs"] == {"Completed": figures["answers"]["bulk start 202"]}
    assert figures["bulk_items"] == {"updated": 5 * figures["answers"]["bulk start 202"]}
    assert (
        figures["bc_requests_run"] == figures["answers"]["200"] + figures["bulk_items"]["updated"]
    )
    assert 0 < figures["bc_mean_busy"] <= 5
