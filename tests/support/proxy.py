"""The proxy end to end: the local host serving the real function_app against the
sandbox (:class:`Proxy`, with handy ways to call it), what Business Central was
asked and holds, the problems the proxy answers, and a stand-in for Application
Insights' ingestion endpoint."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from funchost.durable import DurableStandIn
from sandbox.serving import BackgroundServer
from tests.support.sandbox import RunningSandbox

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


Configure = Callable[..., None]


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


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].rsplit("#", 1)[1] == slug
    assert body["status"] == status
    assert body["requestId"] == response.headers["x-request-id"]
    return body
