"""One attempt of the Business Central client: the cookies it never keeps, and what
one deadline over the status line and the body makes of a late answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.payment.refs import ForwardHeaders
from shared.process.settings import current_settings
from shared.upstream import runtime as runtime_module
from shared.upstream.attempts import Budget
from shared.upstream.client import http_client
from shared.upstream.errors import OutcomeLost
from shared.upstream.runtime import get_runtime
from tests.support.fakes import CountingCredential, FakeBusinessCentral, bc_line, settings_with


async def test_a_cookie_business_central_sets_is_never_sent_back(
    bc: FakeBusinessCentral,
) -> None:
    # One client serves every caller: nothing one answer sets rides on the next request.
    bc.responder = lambda request: httpx.Response(
        200, json=bc_line(), headers={"Set-Cookie": "ARRAffinity=node-7; Path=/"}
    )
    client = get_runtime().bc
    url = client.api_root("v2.0") + "/companies"
    for _ in range(2):
        await client.send_once("GET", url, ForwardHeaders("r-1"), Budget(5))
    assert [request.headers.get("cookie") for request in bc.requests] == [None, None]
    assert not get_runtime().http.cookies


def test_the_client_refuses_cookies_handed_to_it() -> None:
    client = http_client(settings_with())
    with pytest.raises(TypeError, match="no cookies"):
        client.cookies = {"a": "b"}
    with pytest.raises(TypeError, match="no cookies"):
        client.cookies["a"] = "b"


class _Stalling(httpx.AsyncByteStream):
    """A body that sends its first part, then nothing for ``stall_s``."""

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"id": '
        await asyncio.sleep(self.stall_s)
        yield b'"x"}'


class _LateTransport(httpx.AsyncBaseTransport):
    def __init__(self, headers_after_s: float, body_stall_s: float) -> None:
        self.headers_after_s = headers_after_s
        self.body_stall_s = body_stall_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.headers_after_s)
        return httpx.Response(200, stream=_Stalling(self.body_stall_s))


@pytest.fixture
async def late(
    env: dict[str, str], credential: CountingCredential
) -> AsyncIterator[_LateTransport]:
    transport = _LateTransport(0, 0)
    installed = runtime_module.build_runtime(
        current_settings(), transport=transport, credentials=lambda: credential
    )
    runtime_module.install_runtime(installed)
    yield transport
    runtime_module.install_runtime(None)
    await installed.aclose()


async def test_a_status_line_with_a_body_that_stalls_past_the_deadline_keeps_its_status(
    late: _LateTransport,
) -> None:
    # The verdict arrived; only the body did not: a 2xx stays "applied, body unreadable".
    late.body_stall_s = 5
    client = get_runtime().bc
    url = client.api_root("v2.0") + "/companies"
    response = await client.send_once("PATCH", url, ForwardHeaders("r-2"), Budget(0.3), b"{}")
    assert response.status_code == 200
    assert response.content == b""


async def test_no_status_line_before_the_deadline_is_an_outcome_lost(
    late: _LateTransport,
) -> None:
    late.headers_after_s = 5
    client = get_runtime().bc
    url = client.api_root("v2.0") + "/companies"
    with pytest.raises(OutcomeLost):
        await client.send_once("PATCH", url, ForwardHeaders("r-3"), Budget(0.3), b"{}")


async def test_each_phase_of_an_attempt_ends_within_the_budget_left(
    bc: FakeBusinessCentral,
) -> None:
    client = get_runtime().bc
    url = client.api_root("v2.0") + "/companies"
    await client.send_once("GET", url, ForwardHeaders("r-4"), Budget(60))
    await client.send_once("GET", url, ForwardHeaders("r-5"), Budget(3), reserve=1)
    roomy, tight = (request.extensions["timeout"] for request in bc.requests)
    # The settings' own timeouts (connect 5 s, read and write 20 s) while they fit...
    assert (roomy["connect"], roomy["read"], roomy["write"]) == (5, 20, 20)
    assert roomy["pool"] == pytest.approx(60, abs=0.5)
    # ...and no phase past what the budget leaves beside the reserve.
    assert all(value == pytest.approx(2, abs=0.2) for value in tight.values())
    assert bc.requests[0].headers["accept"] == "application/json"
