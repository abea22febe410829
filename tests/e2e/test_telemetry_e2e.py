"""The Application Insights exporter as the app starts it: not at import, but with
the first request, whose record then reaches a local ingestion endpoint through
Azure Monitor's own exporter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.proxy import Ingestion

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

# What a Functions worker does: import the app, later serve a request. The exporter's
# batching processor is flushed before the process ends.
SCRIPT = """
import asyncio, json, sys
heavy = ("azure.monitor", "opentelemetry.sdk")
import function_app
from shared.process import telemetry
from shared.http.messages import CoreRequest
from shared.functions.lines import handle_payment
print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))
request = CoreRequest("PATCH", {}, {"x-request-id": "first-request"}, b"{}")
print(json.dumps(asyncio.run(handle_payment(request)).status))
print(json.dumps([telemetry.exporting(), any(m.startswith(heavy) for m in sys.modules)]))
from opentelemetry._logs import get_logger_provider
get_logger_provider().force_flush()
"""


def test_the_exporter_starts_with_the_first_request_and_carries_its_record(
    ingestion_endpoint: Ingestion,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    env.update(
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion_endpoint.connection_string,
            "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
            "BC_TENANT_ID": "contoso.onmicrosoft.com",
        }
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    # Imported: nothing of the exporter yet.
    assert json.loads(out[0]) == []
    status = json.loads(out[1])
    # The first request started it, and its record went out through it.
    assert json.loads(out[2]) == [True, True]
    (record,) = [
        r for r in ingestion_endpoint.records("request") if r["request_id"] == "first-request"
    ]
    assert (record["route"], record["method"], record["status"]) == (
        "payment",
        "PATCH",
        str(status),
    )
