"""Business Central's per-principal concurrency limit: processed at once, queued, 429.

Requests that must be in flight together run in threads; the test waits on
the sandbox's own counts (``/_sandbox/concurrency``) instead of on the clock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import httpx
import pytest

from sandbox.seed import USER_ASSIGNED_CLIENT_ID
from tests.support.sandbox import RunningSandbox
from tests.support.sandbox_answers import bc_error, exact


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=110) as executor:
        yield executor


@pytest.fixture
def wide_client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A token client whose pool holds more connections than the sandbox's queue."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    with httpx.Client(headers=sandbox.auth_headers(), timeout=30, limits=limits) as client:
        yield client


def _companies(sandbox: RunningSandbox, client: httpx.Client) -> Callable[[], httpx.Response]:
    return lambda: client.get(f"{sandbox.api_url()}/companies")


def test_limits_have_business_centrals_defaults_and_can_be_set(sandbox, http):
    url = f"{sandbox.url}/_sandbox/limits"
    window = {"requests": 6000, "windowS": 300}
    assert http.get(url).json() == {"concurrent": 5, "queue": 95, **window}
    assert http.post(url, json={"concurrent": 2}).json() == {
        "concurrent": 2,
        "queue": 95,
        **window,
    }
    assert http.post(url, json={"queue": 0}).json() == {"concurrent": 5, "queue": 0, **window}
    sandbox.set_limits(concurrent=1, queue=3)
    assert http.get(url).json() == {"concurrent": 1, "queue": 3, **window}
    assert http.post(url, json={"requests": 10, "windowS": 60}).json() == {
        "concurrent": 5,
        "queue": 95,
        "requests": 10,
        "windowS": 60,
    }
    sandbox.reset()
    assert http.get(url).json() == {"concurrent": 5, "queue": 95, **window}


@pytest.mark.parametrize(
    "body",
    [
        {"concurrent": 0},
        {"queue": -1},
        {"concurrent": "5"},
        {"concurent": 5},
        {"requests": 0},
        {"windowS": 0},
    ],
)
def test_bad_limits_are_refused(sandbox, http, body):
    url = f"{sandbox.url}/_sandbox/limits"
    assert http.post(url, json=body).status_code == 400
    assert http.get(url).json() == {
        "concurrent": 5,
        "queue": 95,
        "requests": 6000,
        "windowS": 300,
    }


def test_requests_beyond_the_limit_wait_in_the_queue(sandbox, wide_client, pool):
    sandbox.set_limits(concurrent=2, queue=10)
    sandbox.set_latency(1000)
    futures = [pool.submit(_companies(sandbox, wide_client)) for _ in range(4)]
    during = sandbox.wait_for_concurrency(current=2, queued=2)
    assert during["max"] == 2
    sandbox.set_latency(0)  # read when a request is processed: the waiting ones go fast
    assert [f.result().status_code for f in futures] == [200] * 4
    assert sandbox.concurrency() == {"current": 0, "max": 2, "queued": 0}


def test_a_full_queue_answers_429_with_retry_after_and_changes_nothing(
    sandbox, client, wide_client, pool
):
    sandbox.set_limits(concurrent=1, queue=1)
    sandbox.set_latency(1000)
    url = sandbox.payment_url()
    held = [pool.submit(_companies(sandbox, wide_client)) for _ in range(2)]
    sandbox.wait_for_concurrency(current=1, queued=1)
    sandbox.set_latency(0)  # the first keeps its slot for now; the rest go fast
    refused = wide_client.patch(url, json={"amount": 1}, headers={"If-Match": "*"})
    bc_error(refused, 429, "Application_TooManyRequests")
    assert int(refused.headers["retry-after"]) >= 1
    assert [f.result().status_code for f in held] == [200, 200]
    assert exact(client.get(url))["amount"] == Decimal("2000.5")  # the PATCH never ran
    patch = next(e for e in sandbox.requests() if e["method"] == "PATCH")
    assert patch["processedStatus"] == 429


def test_default_limits_are_five_at_once_and_ninety_five_waiting(sandbox, wide_client, pool):
    # Long enough for all 100 to arrive before the first five are answered.
    sandbox.set_latency(3000)
    held = [pool.submit(_companies(sandbox, wide_client)) for _ in range(100)]
    sandbox.wait_for_concurrency(current=5, queued=95, timeout_s=20)
    # Latency is read when a request is processed: the five keep their slots
    # for now, the 429 and the queued ones go fast.
    sandbox.set_latency(0)
    bc_error(_companies(sandbox, wide_client)(), 429, "Application_TooManyRequests")
    assert [f.result().status_code for f in held] == [200] * 100
    assert sandbox.concurrency() == {"current": 0, "max": 5, "queued": 0}


def test_each_principal_has_its_own_slots(sandbox, wide_client, pool):
    sandbox.set_limits(concurrent=1, queue=0)
    sandbox.set_latency(1000)
    held = pool.submit(_companies(sandbox, wide_client))
    sandbox.wait_for_concurrency(current=1)
    # The user-assigned identity is another principal: it gets a slot of its own.
    with httpx.Client(headers=sandbox.auth_headers(USER_ASSIGNED_CLIENT_ID), timeout=30) as user:
        other = pool.submit(_companies(sandbox, user))
        sandbox.wait_for_concurrency(current=2)
        # The first principal's one slot is still taken.
        bc_error(_companies(sandbox, wide_client)(), 429, "Application_TooManyRequests")
        assert other.result().status_code == 200
    assert held.result().status_code == 200
    assert sandbox.concurrency()["max"] == 2


def test_requests_answered_by_a_fault_rule_or_refused_a_token_take_no_slot(
    sandbox, wide_client, http, pool
):
    sandbox.set_limits(concurrent=1, queue=0)
    sandbox.set_latency(1000)
    sandbox.add_faults(
        {"path": "salesInvoices", "status": 503, "code": "Internal_TenantUnavailable"}
    )
    held = pool.submit(_companies(sandbox, wide_client))
    sandbox.wait_for_concurrency(current=1)
    company = sandbox.seed["companies"][0]["id"]
    # Sent while the one slot is taken and there is no queue: if they needed
    # a slot, they would be 429.
    invoices = pool.submit(
        wide_client.get, f"{sandbox.api_url()}/companies({company})/salesInvoices"
    )
    no_token = pool.submit(http.get, f"{sandbox.api_url()}/companies")
    bc_error(invoices.result(), 503, "Internal_TenantUnavailable")
    bc_error(no_token.result(), 401, "Authentication_InvalidCredentials")
    assert held.result().status_code == 200
    assert sandbox.concurrency()["max"] == 1


def test_lower_limits_hold_back_new_requests_and_higher_ones_let_waiters_in(
    sandbox, wide_client, pool
):
    sandbox.set_limits(concurrent=1, queue=5)
    sandbox.set_latency(1500)
    futures = [pool.submit(_companies(sandbox, wide_client)) for _ in range(3)]
    sandbox.wait_for_concurrency(current=1, queued=2)
    sandbox.set_limits(concurrent=3, queue=5)  # the two waiting start at once
    seen = sandbox.wait_for_concurrency(current=3, queued=0)
    assert seen["max"] == 3
    sandbox.set_latency(0)
    assert [f.result().status_code for f in futures] == [200] * 3


async def test_an_async_client_sees_the_same_limit(sandbox):
    sandbox.set_limits(concurrent=2, queue=0)
    sandbox.set_latency(1000)
    url = f"{sandbox.api_url()}/companies"
    async with httpx.AsyncClient(headers=sandbox.auth_headers(), timeout=30) as client:
        held = [asyncio.ensure_future(client.get(url)) for _ in range(2)]
        await sandbox.wait_for_concurrency_async(current=2)
        bc_error(await client.get(url), 429, "Application_TooManyRequests")
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]


def test_the_rate_window_refuses_with_the_wait_business_central_names(sandbox, wide_client, http):
    sandbox.set_limits(requests=3, window_s=2)
    companies = _companies(sandbox, wide_client)
    assert [companies().status_code for _ in range(3)] == [200, 200, 200]
    refused = companies()
    assert refused.status_code == 429
    message = bc_error(refused, 429, "Application_TooManyRequests")
    assert "more than 3 requests in 2 seconds" in message
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 2
    # Refused before processing, and not counted: the window still holds the three.
    assert sandbox.requests()[-1]["processedStatus"] == 429
    assert sandbox.rate_window() == {"inWindow": 3, "refused": 1}
    assert sandbox.concurrency()["max"] == 1
    # Another principal (the user-assigned identity) has a window of its own.
    other = http.get(
        f"{sandbox.api_url()}/companies", headers=sandbox.auth_headers(USER_ASSIGNED_CLIENT_ID)
    )
    assert other.status_code == 200
    time.sleep(wait)
    assert companies().status_code == 200
