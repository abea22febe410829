"""End-to-end fixtures: the sandbox and the local host serving the real
function_app, each on a free loopback port, with the real azure-identity
ManagedIdentityCredential and the real httpx client in between."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator

import httpx
import pytest

import function_app
from funchost.durable import DurableStandIn, VirtualClock
from funchost.http import create_local_host
from sandbox.serving import BackgroundServer
from shared.process import telemetry
from shared.process.settings import reset_settings
from shared.upstream import runtime as runtime_module
from tests.support.environment import SETTING_NAMES
from tests.support.proxy import ROOT, Configure, Ingestion, Proxy
from tests.support.sandbox import RunningSandbox, start_sandbox


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
