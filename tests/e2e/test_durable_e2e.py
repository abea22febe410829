"""The local host of the end-to-end stack carries the Durable stand-in."""

from __future__ import annotations

import httpx

from funchost.durable import WEBHOOK_PATH, DurableStandIn, VirtualClock
from tests.support.proxy import Proxy


def test_the_stack_serves_the_durable_webhooks(proxy: Proxy, durable: DurableStandIn) -> None:
    assert isinstance(durable.clock, VirtualClock)
    assert durable.engine.loop is proxy.server.loop  # bound when the host started
    assert durable.instances() == []
    unknown = httpx.get(f"{proxy.server.url}{WEBHOOK_PATH}/instances/no-such-instance")
    assert (unknown.status_code, unknown.content) == (404, b"")
    # The app's own routes are untouched by the webhook paths.
    assert proxy.http.get(f"{proxy.url}/health").json() == {"status": "ok"}
