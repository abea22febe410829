"""End-to-end fixtures: the sandbox and the local host serving the real
function_app, each on a free loopback port, with the real azure-identity
ManagedIdentityCredential and the real httpx client in between."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import function_app
from funchost.durable import DurableStandIn, VirtualClock
from funchost.http import create_local_host
from sandbox.serving import BackgroundServer
from shared.process import telemetry
from shared.process.settings import reset_settings
from shared.upstream import runtime as runtime_module
from tests.proxy_env import SETTING_NAMES
from tests.sandbox_fixtures import RunningSandbox, start_sandbox

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Proxy:
    """The local host serving function_app, and handy ways to call it."""

    server: BackgroundServer
    sandbox: RunningSandbox
    http: httpx.Client
    # The Durable stand-in inside the local host, on a virtual clock.
    durable: DurableStandIn

    @property
    def url(self) -> str:
        return f"{self.server.url}/api"

    def line(self, company: int = 0, line: int = 0) -> dict[str, Any]:
        c = self.sandbox.seed["companies"][company]
        return {
            "company": c["id"],
            "journal": c["journals"][0]["id"],
            "payment": c["journals"][0]["payments"][line]["id"],
        }

    def payment_url(
        self,
        version: str = "v2.0",
        company: int = 0,
        line: int = 0,
        journal_set: str = "customerPaymentJournals",
    ) -> str:
        ids = self.line(company, line)
        return (
            f"{self.url}/{version}/companies/{ids['company']}/{journal_set}/{ids['journal']}"
            f"/customerPayments/{ids['payment']}"
        )

    def get(self, url: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.get(url or self.payment_url(), **kwargs)

    def patch(
        self,
        body: Any,
        *,
        if_match: str | None = "*",
        url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if if_match is not None:
            sent["If-Match"] = if_match
        content = body if isinstance(body, bytes) else _exact_json(body)
        return self.http.patch(url or self.payment_url(), content=content, headers=sent)

    def run_in_host(self, coroutine: Any) -> Any:
        assert self.server.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.server.loop).result(30)


def _exact_json(value: Any) -> bytes:
    from shared.process.jsonio import dumps_exact

    return dumps_exact(value)


def stored_line(sandbox: RunningSandbox, company: int = 0, line: int = 0) -> dict[str, Any]:
    """The line as the sandbox holds it, read directly (not through the proxy)."""
    response = httpx.get(
        sandbox.payment_url("v2.0", company, 0, line), headers=sandbox.auth_headers(), timeout=10
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json(parse_float=Decimal)
    return data


def bc_requests(sandbox: RunningSandbox, method: str | None = None) -> list[dict[str, Any]]:
    """What the proxy sent to Business Central: it always sends a client
    request id, which the tests' own direct reads do not."""
    return [
        r
        for r in sandbox.requests()
        if "x-ms-client-request-id" in r["headers"] and (method is None or r["method"] == method)
    ]


# A fault rule matching the proxy's PATCHes of payment lines.
PATCH_RULE = {"method": "PATCH", "path": "customerPayments"}


def batches_of(sandbox: RunningSandbox, method: str) -> list[dict[str, Any]]:
    """The $batch requests Business Central received whose operations are ``method``:
    PATCH for the batches that write, GET for the batched reads that settle."""
    return [
        r
        for r in bc_requests(sandbox, "POST")
        if r["path"].endswith("/$batch")
        and any(op.get("method") == method for op in r["body"]["requests"])
    ]


def throttled_batch(retry_after: int, times: int = 1) -> dict[str, Any]:
    """A fault rule: the next ``times`` $batch requests answer 429 with ``Retry-After``."""
    return {
        "method": "POST",
        "path": "$batch",
        "times": times,
        "status": 429,
        "code": "Application_TooManyRequests",
        "retryAfter": retry_after,
    }


def slug_of(response: httpx.Response) -> str:
    """The problem slug at the end of a problem's ``type``."""
    return str(response.json()["type"]).rsplit("#", 1)[1]


def patches(proxy: Proxy) -> list[dict[str, Any]]:
    """The PATCHes the proxy sent to Business Central, oldest first."""
    return bc_requests(proxy.sandbox, "PATCH")


@pytest.fixture(scope="session")
def e2e_sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox() as running:
        yield running


@pytest.fixture(scope="session")
def e2e_proxy(e2e_sandbox: RunningSandbox) -> Iterator[Proxy]:
    saved = {
        name: os.environ.get(name)
        for name in (*e2e_sandbox.environment_variables(), *SETTING_NAMES)
    }
    for name in SETTING_NAMES:
        os.environ.pop(name, None)
    os.environ.update(e2e_sandbox.environment_variables())
    reset_settings()
    stand_in = DurableStandIn(function_app.app, clock=VirtualClock())
    host = create_local_host(
        function_app.app,
        host_json=ROOT / "host.json",
        on_shutdown=[runtime_module.aclose_runtime],
        durable=stand_in,
    )
    server = BackgroundServer(host).start()
    os.environ["WEBSITE_HOSTNAME"] = server.url.removeprefix("http://")
    reset_settings()
    with httpx.Client(timeout=60) as http:
        yield Proxy(server, e2e_sandbox, http, stand_in)
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()


@pytest.fixture
def durable(proxy: Proxy) -> Iterator[DurableStandIn]:
    """The local host's Durable stand-in, emptied for this test.

    ``advance(seconds)`` lets virtual time pass (timers fire), ``wait_idle_sync()`` /
    ``wait_done_sync(id)`` wait for the engine, ``instance(id)`` shows status and
    history, ``activity_runs`` / ``activity_peaks`` count runs and concurrency,
    ``lose_next_results(name)`` and ``restart_sync()`` make activities run again.
    """
    proxy.durable.reset()
    yield proxy.durable
    proxy.durable.reset()


Configure = Callable[..., None]


@pytest.fixture
def proxy(e2e_proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    """The proxy with default settings, over a freshly reset sandbox."""
    e2e_proxy.sandbox.reset()
    yield e2e_proxy
    reset_settings()


@pytest.fixture
def configure(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> Configure:
    """Change the proxy's settings for one test (the app re-reads them)."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_settings()

    return apply


class Ingestion:
    """A local Application Insights ingestion endpoint: keeps every envelope posted."""

    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []
        received = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                batch = json.loads(body)
                received.extend(batch)
                answer = json.dumps(
                    {"itemsReceived": len(batch), "itemsAccepted": len(batch), "errors": []}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def connection_string(self) -> str:
        return (
            f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={self.url}"
        )

    def records(self, record_type: str) -> list[dict[str, Any]]:
        """The custom dimensions (and message) of every record of one type, in order."""
        found = []
        for envelope in self.envelopes:
            data = envelope["data"]["baseData"]
            properties = data.get("properties", {})
            if properties.get("record_type") == record_type:
                found.append(dict(properties, message=data["message"]))
        return found


@pytest.fixture
def ingestion_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ingestion]:
    """A running local ingestion endpoint, with the exporter's own statistics off
    (they would go to the same endpoint, after it is gone)."""
    monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
    monkeypatch.setenv("APPLICATIONINSIGHTS_SDKSTATS_DISABLED", "true")
    endpoint = Ingestion()
    threading.Thread(target=endpoint.server.serve_forever, daemon=True).start()
    try:
        yield endpoint
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()


@pytest.fixture
def ingestion(ingestion_endpoint: Ingestion) -> Iterator[Ingestion]:
    """The record loggers wired to Azure Monitor's log exporter as
    ``telemetry.start_exporting`` wires them in Azure (the distro's LoggingHandler on
    the records logger), but with a logger provider of this test's own, so nothing
    global changes."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorLogExporter
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    exporter = AzureMonitorLogExporter(
        connection_string=ingestion_endpoint.connection_string, disable_offline_storage=True
    )
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = LoggingHandler(logger_provider=provider)
    records = logging.getLogger(telemetry.RECORDS_LOGGER)
    records.addHandler(handler)
    try:
        yield ingestion_endpoint
    finally:
        records.removeHandler(handler)
        provider.shutdown()
