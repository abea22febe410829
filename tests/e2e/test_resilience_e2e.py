"""Every fault kind of the sandbox, end to end: the final answer and problem,
the number of upstream attempts, and what Business Central ends up holding.

The rule under test: a 200 means the change is in Business Central exactly
once; anything else says whether the change might have happened."""

from __future__ import annotations

import concurrent.futures
import time
from decimal import Decimal

import pytest

from shared.process.settings import reset_settings
from tests.support.proxy import PATCH_RULE, Configure, Proxy, patches, slug_of, stored_line

pytestmark = pytest.mark.e2e


def wait_until_idle(proxy: Proxy, timeout_s: float = 10) -> None:
    """Let a delayed answer the proxy gave up on finish inside the sandbox."""
    deadline = time.monotonic() + timeout_s
    while proxy.sandbox.concurrency()["current"] and time.monotonic() < deadline:
        time.sleep(0.05)


def current_etag(proxy: Proxy) -> str:
    return str(stored_line(proxy.sandbox)["@odata.etag"])


@pytest.fixture
def quick(configure: Configure) -> Configure:
    """A short budget so that exhausted retries end fast."""
    configure(SYNC_BUDGET_S="4", READ_BACK_RESERVE_S="0.5", MIN_ATTEMPT_S="0.5")
    return configure


def test_429_with_retry_after_is_retried(proxy: Proxy, quick: Configure) -> None:
    proxy.sandbox.add_faults(
        {
            **PATCH_RULE,
            "times": 2,
            "status": 429,
            "code": "Application_TooManyRequests",
            "retryAfter": 1,
        }
    )
    response = proxy.patch({"amount": Decimal("11.11")}, if_match=current_etag(proxy))
    assert response.status_code == 200, response.text
    assert len(patches(proxy)) == 3
    assert stored_line(proxy.sandbox)["amount"] == Decimal("11.11")


def test_429_without_retry_after_backs_off(proxy: Proxy, quick: Configure) -> None:
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 2, "status": 429, "code": "Application_TooManyRequests"}
    )
    response = proxy.patch({"amount": Decimal("12.12")}, if_match=current_etag(proxy))
    assert response.status_code == 200, response.text
    assert len(patches(proxy)) == 3
    assert stored_line(proxy.sandbox)["amount"] == Decimal("12.12")


def test_retry_after_beyond_the_budget_is_handed_to_the_caller(
    proxy: Proxy, quick: Configure
) -> None:
    before = stored_line(proxy.sandbox)
    proxy.sandbox.add_faults(
        {
            **PATCH_RULE,
            "times": 5,
            "status": 429,
            "code": "Application_TooManyRequests",
            "retryAfter": 60,
        }
    )
    response = proxy.patch({"amount": Decimal("13.13")}, if_match="*")
    assert (response.status_code, slug_of(response)) == (429, "upstream-throttled")
    assert response.headers["retry-after"] == "60"
    assert len(patches(proxy)) == 1
    assert stored_line(proxy.sandbox) == before


def test_503_maintenance_is_retried(proxy: Proxy, quick: Configure) -> None:
    proxy.sandbox.add_faults(
        {
            **PATCH_RULE,
            "times": 1,
            "status": 503,
            "code": "Internal_TenantUnavailable",
            "retryAfter": 1,
        }
    )
    response = proxy.patch({"amount": Decimal("14.14")}, if_match=current_etag(proxy))
    assert response.status_code == 200
    assert len(patches(proxy)) == 2
    assert stored_line(proxy.sandbox)["amount"] == Decimal("14.14")


def test_503_for_the_whole_budget_is_upstream_unavailable(proxy: Proxy, quick: Configure) -> None:
    before = stored_line(proxy.sandbox)
    proxy.sandbox.add_faults(
        {
            **PATCH_RULE,
            "times": 100,
            "status": 503,
            "code": "Internal_TenantUnavailable",
            "retryAfter": 1,
        }
    )
    response = proxy.patch({"amount": Decimal("15.15")}, if_match="*")
    assert (response.status_code, slug_of(response)) == (503, "upstream-unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert 2 <= len(patches(proxy)) <= 5
    assert stored_line(proxy.sandbox) == before


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_error_then_success(proxy: Proxy, quick: Configure, status: int) -> None:
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "status": status, "code": "Unknown"})
    response = proxy.patch({"amount": Decimal("16.16")}, if_match=current_etag(proxy))
    assert response.status_code == 200, response.text
    assert len(patches(proxy)) == 2
    assert stored_line(proxy.sandbox)["amount"] == Decimal("16.16")


def test_gateway_error_for_the_whole_budget_is_an_unknown_outcome(
    proxy: Proxy, quick: Configure
) -> None:
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 100, "status": 504, "code": "Unknown"})
    response = proxy.patch({"amount": Decimal("17.17")}, if_match="*")
    # Every answer was a gateway's: still unknown, answered with the line as it is now.
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    assert "may or may not have been applied" in response.json()["detail"]
    assert response.json()["current"]["etag"] == stored_line(proxy.sandbox)["@odata.etag"]


def test_drop_before_processing_is_retried(proxy: Proxy, quick: Configure) -> None:
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "before"})
    response = proxy.patch({"amount": Decimal("18.18")}, if_match=current_etag(proxy))
    assert response.status_code == 200, response.text
    assert len(patches(proxy)) == 2
    stored = stored_line(proxy.sandbox)
    assert stored["amount"] == Decimal("18.18")
    assert response.json()["etag"] == stored["@odata.etag"]


def test_drop_after_processing_with_an_etag_is_outcome_unknown_applied_once(
    proxy: Proxy, quick: Configure
) -> None:
    etag = current_etag(proxy)
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "after"})
    response = proxy.patch({"amount": Decimal("19.19"), "comment": "once"}, if_match=etag)
    # The answer was lost; the line read back has a new ETag and holds the
    # values, which the proxy's write or anyone else's could have made: it
    # says so (409 with the line) instead of claiming the write, and sends
    # nothing more.
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    sent = patches(proxy)
    assert [r["processedStatus"] for r in sent] == [200]
    stored = stored_line(proxy.sandbox)
    assert stored["amount"] == Decimal("19.19")
    current = response.json(parse_float=Decimal)["current"]
    assert current["etag"] == stored["@odata.etag"]
    assert current["amount"] == Decimal("19.19")


def test_drop_after_with_star_resends_the_same_values(proxy: Proxy, quick: Configure) -> None:
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "after"})
    response = proxy.patch({"amount": Decimal("20.20")}, if_match="*")
    assert response.status_code == 200, response.text
    assert len(patches(proxy)) == 2
    assert stored_line(proxy.sandbox)["amount"] == Decimal("20.20")


def test_unknown_outcome_then_a_conflict_while_the_line_is_unchanged_stays_unknown(
    proxy: Proxy, quick: Configure
) -> None:
    # A gateway timeout leaves the first attempt's outcome unknown (here it was
    # not applied); the retry meets a conflict, yet the line read back still has
    # the ETag sent: the lost attempt could still land, so neither a 200 nor a
    # 412 ("not in Business Central") is proven. The answer is the line as it is.
    before = stored_line(proxy.sandbox)
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 1, "status": 504, "code": "Unknown"},
        {**PATCH_RULE, "times": 1, "status": 409, "code": "Request_EntityChanged"},
    )
    response = proxy.patch({"comment": "mine"}, if_match=before["@odata.etag"])
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    assert response.json()["current"]["etag"] == before["@odata.etag"]
    assert len(patches(proxy)) == 2
    assert stored_line(proxy.sandbox) == before


def test_delay_beyond_the_read_timeout(proxy: Proxy, configure: Configure) -> None:
    configure(SYNC_BUDGET_S="6", BC_READ_TIMEOUT_S="1", READ_BACK_RESERVE_S="1", MIN_ATTEMPT_S="1")
    etag = current_etag(proxy)
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "delayMs": 2500})
    response = proxy.patch({"amount": Decimal("21.21")}, if_match=etag)
    # Applied, answer late: read before resend finds the values under a new
    # ETag, which proves nothing about who wrote them.
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    assert len(patches(proxy)) == 1
    wait_until_idle(proxy)
    stored = stored_line(proxy.sandbox)
    assert stored["amount"] == Decimal("21.21")
    assert response.json()["current"]["etag"] == stored["@odata.etag"]


def test_401_once_refreshes_the_token(proxy: Proxy, quick: Configure) -> None:
    assert proxy.get().status_code == 200  # warm: a token is cached
    tokens = proxy.sandbox.token_requests()
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 1, "status": 401, "code": "Authentication_InvalidCredentials"}
    )
    response = proxy.patch({"amount": Decimal("22.22")}, if_match=current_etag(proxy))
    assert response.status_code == 200, response.text
    assert len(patches(proxy)) == 2
    assert proxy.sandbox.token_requests() == tokens + 1
    assert stored_line(proxy.sandbox)["amount"] == Decimal("22.22")


def test_identity_endpoint_500_then_healthy(proxy: Proxy, quick: Configure) -> None:
    reset_settings()  # cold: the next request needs a token
    proxy.sandbox.add_faults({"path": "/msi/token", "times": 1, "status": 500, "code": "Unknown"})
    response = proxy.patch({"amount": Decimal("23.23")})
    assert response.status_code == 200, response.text
    assert proxy.sandbox.token_requests() == 2  # the failed one and one retry
    assert proxy.sandbox.faults() == []  # the failing answer was given
    assert stored_line(proxy.sandbox)["amount"] == Decimal("23.23")


def test_identity_endpoint_always_failing(proxy: Proxy, quick: Configure) -> None:
    reset_settings()
    before = stored_line(proxy.sandbox)
    proxy.sandbox.add_faults(
        {"path": "/msi/token", "times": 1000, "status": 500, "code": "Unknown"}
    )
    response = proxy.patch({"amount": Decimal("24.24")})
    assert (response.status_code, slug_of(response)) == (502, "identity-unavailable")
    assert patches(proxy) == []
    assert stored_line(proxy.sandbox) == before


def test_malformed_json_from_business_central(proxy: Proxy, quick: Configure) -> None:
    before = stored_line(proxy.sandbox)
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "status": 200, "rawBody": "{not json"})
    response = proxy.patch({"amount": Decimal("25.25")})
    # The answer claimed success, but the line read back does not hold the
    # update: Business Central's answer was wrong, and the proxy says so.
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    assert response.json(parse_float=Decimal)["current"]["amount"] == before["amount"]
    assert "could not be read" in response.json()["detail"]
    assert stored_line(proxy.sandbox) == before
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "status": 500, "rawBody": "<html>oops"})
    response = proxy.patch({"amount": Decimal("25.25")})
    assert (response.status_code, slug_of(response)) == (502, "upstream-error")
    assert stored_line(proxy.sandbox) == before


def test_burst_never_exceeds_the_concurrency_limit(proxy: Proxy, configure: Configure) -> None:
    configure(BC_MAX_CONCURRENCY="3")
    proxy.sandbox.set_latency(40)
    urls = [proxy.payment_url(company=c, line=n) for c in (0, 1) for n in range(3)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(
            pool.map(
                lambda i: (
                    proxy.patch({"comment": f"burst {i}"}, url=urls[i % len(urls)]).status_code
                ),
                range(50),
            )
        )
    assert statuses == [200] * 50
    seen = proxy.sandbox.concurrency()
    assert 1 <= seen["max"] <= 3


def test_every_attempt_is_logged_without_secrets(
    proxy: Proxy, quick: Configure, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    # In production the attempt lines are quieted (the request record counts them);
    # someone debugging turns them on like this.
    caplog.set_level("DEBUG", logger="shared.upstream.client")
    proxy.sandbox.add_faults(
        {
            **PATCH_RULE,
            "times": 1,
            "status": 503,
            "code": "Internal_TenantUnavailable",
            "retryAfter": 1,
        }
    )
    response = proxy.patch(
        {"comment": "secret-comment-value"}, headers={"x-request-id": "log-test-1"}
    )
    assert response.status_code == 200
    attempts = [
        r.getMessage()
        for r in caplog.records
        if r.name == "shared.upstream.client" and "log-test-1" in r.getMessage()
    ]
    assert len(attempts) == 2
    assert "attempt 1 upstream 503" in attempts[0]
    assert "retrying in 1.00 s" in attempts[0]
    assert "correlation " in attempts[0]
    assert "attempt 2 upstream 200" in attempts[1]
    (record,) = [
        r
        for r in caplog.records
        if r.name == "bcproxy.records.requests" and "log-test-1" in r.getMessage()
    ]
    assert (record.attempts, record.wait_ms, record.status) == (2, 1000, 200)  # type: ignore[attr-defined]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-comment-value" not in everything
    assert "eyJ" not in everything  # no token (JWT) in any log line
    assert proxy.sandbox.identity_header not in everything
