"""Bulk jobs through the proxy end to end: started on a journal, polled as a flow
polls them until they finish, and the lines they wrote as the sandbox holds them."""

from __future__ import annotations

from typing import Any

import httpx

from funchost.durable import DurableStandIn
from shared.process.jsonio import dumps_exact, loads_exact
from tests.support.proxy import Proxy


def journal_url(proxy: Proxy) -> str:
    ids = proxy.line()
    return (
        f"{proxy.url}/v2.0/companies/{ids['company']}/customerPaymentJournals/{ids['journal']}"
        "/bulkPaymentUpdates"
    )


def start(
    proxy: Proxy, updates: list[dict[str, Any]], key: str | None = None, query: str = ""
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return proxy.http.post(
        journal_url(proxy) + query, content=dumps_exact({"updates": updates}), headers=headers
    )


def finished(proxy: Proxy, durable: DurableStandIn, started: httpx.Response) -> dict[str, Any]:
    """Poll Location with no credentials at all, as Power Automate does, until 200."""
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    durable.wait_done_sync(started.json()["jobId"])
    answer = httpx.get(location, timeout=30)
    assert answer.status_code == 200, answer.text
    assert durable.errors == []  # every replay matched: the orchestrator is deterministic
    result: dict[str, Any] = loads_exact(answer.content)
    return result


def stored(proxy: Proxy, line_id: str) -> dict[str, Any]:
    response = httpx.get(
        proxy.sandbox.line_url(line_id), headers=proxy.sandbox.auth_headers(), timeout=10
    )
    response.raise_for_status()
    data: dict[str, Any] = loads_exact(response.content)
    return data


def seeded(proxy: Proxy, index: int) -> str:
    return str(proxy.sandbox.seed["companies"][0]["journals"][0]["payments"][index]["id"])
