"""The contract's "Outcomes" rules over the wire: every answer proves what it
claims, ordered races included. Each race is ordered by the sandbox (a
delayed or dropped answer) and by waiting for what the sandbox has seen,
never by sleeps that hope."""

from __future__ import annotations

import concurrent.futures
import re
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.process.jsonio import dumps_exact, loads_exact
from shared.process.problems import PROBLEM_TYPES
from tests.support.proxy import (
    PATCH_RULE,
    Configure,
    Proxy,
    bc_requests,
    patches,
    slug_of,
    stored_line,
)

pytestmark = pytest.mark.e2e


def wait_for(condition: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the sandbox never saw what the test waits for"
        time.sleep(0.01)


def direct_patch(proxy: Proxy, body: dict[str, Any]) -> httpx.Response:
    """Another writer: straight to the sandbox, not through the proxy."""
    sandbox = proxy.sandbox
    return httpx.patch(
        sandbox.payment_url(),
        content=dumps_exact(body),
        headers={**sandbox.auth_headers(), "If-Match": "*", "Content-Type": "application/json"},
        timeout=10,
    )


@pytest.fixture
def outcomes(configure: Configure) -> Configure:
    configure(SYNC_BUDGET_S="6", READ_BACK_RESERVE_S="2", MIN_ATTEMPT_S="1")
    return configure


def test_lost_write_overtaken_by_another_writer_is_never_a_200(
    proxy: Proxy, outcomes: Configure
) -> None:
    """The proxy's PATCH is dropped before Business Central processes it;
    meanwhile someone else writes the same amount. The line now holds the
    values, but not because of the proxy: the answer must not be 200."""
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "before", "delayMs": 1500})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(proxy.patch, {"amount": Decimal("77.70")}, if_match=etag)
        wait_for(lambda: len(patches(proxy)) == 1)  # held by the sandbox now
        other = direct_patch(proxy, {"amount": Decimal("77.70"), "comment": "theirs"})
        assert other.status_code == 200, other.text
        response = pending.result(30)
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    current = response.json(parse_float=Decimal)["current"]
    assert current["comment"] == "theirs"
    assert current["etag"] == stored_line(proxy.sandbox)["@odata.etag"]
    # The proxy's own PATCH was never applied, and it sent no other.
    assert [r["processedStatus"] for r in patches(proxy)] == [None]


def test_lost_write_overtaken_by_different_values_is_412(proxy: Proxy, outcomes: Configure) -> None:
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "before", "delayMs": 1500})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(proxy.patch, {"amount": Decimal("77.71")}, if_match=etag)
        wait_for(lambda: len(patches(proxy)) == 1)
        assert direct_patch(proxy, {"amount": Decimal("5.00")}).status_code == 200
        response = pending.result(30)
    assert (response.status_code, slug_of(response)) == (412, "etag-mismatch")
    assert stored_line(proxy.sandbox)["amount"] == Decimal("5")
    assert len(patches(proxy)) == 1


def test_drop_after_is_read_before_anything_is_sent_again(
    proxy: Proxy, outcomes: Configure
) -> None:
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "after"})
    response = proxy.patch({"amount": Decimal("31.31")}, if_match=etag)
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    assert sent == [("PATCH", 200), ("GET", 200)]


def test_drop_before_with_an_etag_is_read_then_sent_again(
    proxy: Proxy, outcomes: Configure
) -> None:
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "before"})
    response = proxy.patch({"amount": Decimal("32.32")}, if_match=etag)
    assert response.status_code == 200, response.text
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    # Not applied (the ETag is still the one sent), so the resend decides.
    assert sent == [("PATCH", None), ("GET", 200), ("PATCH", 200)]
    assert response.json()["etag"] == stored_line(proxy.sandbox)["@odata.etag"]


def test_no_write_is_started_that_cannot_finish(proxy: Proxy, configure: Configure) -> None:
    """One slot, 1.5 s per answer, 5 s budget of which 1 s is the read-back
    reserve: the second PATCH gets the slot at 1.5 s with 2.5 s for itself;
    the third could not start before 3 s, leaving less than MIN_ATTEMPT_S, so
    it is refused when its patience (5 - 1 - 1.5 = 2.5 s) ends, unsent."""
    configure(
        SYNC_BUDGET_S="5", READ_BACK_RESERVE_S="1", MIN_ATTEMPT_S="1.5", BC_MAX_CONCURRENCY="1"
    )
    proxy.sandbox.set_latency(1500)
    try:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(
                    lambda n: proxy.patch({"comment": f"load {n}"}, if_match="*"),
                    range(3),
                )
            )
    finally:
        proxy.sandbox.set_latency(0)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 200, 429], [a.text for a in answers]
    throttled = next(a for a in answers if a.status_code == 429)
    assert slug_of(throttled) == "upstream-throttled"
    assert int(throttled.headers["Retry-After"]) >= 1
    refused_comment = next(f"load {n}" for n in range(3) if answers[n].status_code == 429)
    sent_comments = [r["body"]["comment"] for r in patches(proxy)]
    assert len(sent_comments) == 2
    assert refused_comment not in sent_comments


def test_read_back_has_its_own_reserve(proxy: Proxy, configure: Configure) -> None:
    """The PATCH's answer comes too late for its share of the budget; the
    reserve still lets the proxy read the line and settle the outcome."""
    configure(SYNC_BUDGET_S="5", READ_BACK_RESERVE_S="2", MIN_ATTEMPT_S="1", BC_READ_TIMEOUT_S="20")
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "delayMs": 4000})
    response = proxy.patch({"amount": Decimal("33.33")}, if_match=etag)
    # Applied (the delay is after processing), answer lost, line read back.
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown")
    assert response.json(parse_float=Decimal)["current"]["amount"] == Decimal("33.33")
    wait_for(lambda: proxy.sandbox.concurrency()["current"] == 0)


def test_gzip_body_that_cannot_be_decoded_still_tells_the_truth(
    proxy: Proxy, outcomes: Configure
) -> None:
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "corruptBody": True})
    response = proxy.patch({"amount": Decimal("34.34")}, headers={"x-request-id": "gzip-1"})
    # Applied (2xx) but unreadable: the line read back holds the values.
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "gzip-1"
    assert response.json()["amount"] == 34.34
    assert [r["processedStatus"] for r in patches(proxy)] == [200]


def test_gzip_body_on_a_get_is_a_problem_not_a_bare_500(proxy: Proxy, outcomes: Configure) -> None:
    proxy.sandbox.add_faults(
        {"method": "GET", "path": "customerPayments", "times": 20, "corruptBody": True}
    )
    response = proxy.get(headers={"x-request-id": "gzip-2"})
    assert (response.status_code, slug_of(response)) == (502, "upstream-error")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == "gzip-2"


def test_get_timeout_says_only_that_the_read_timed_out(proxy: Proxy, configure: Configure) -> None:
    configure(
        SYNC_BUDGET_S="2", READ_BACK_RESERVE_S="0.5", MIN_ATTEMPT_S="0.5", BC_READ_TIMEOUT_S="0.5"
    )
    proxy.sandbox.add_faults(
        {"method": "GET", "path": "customerPayments", "times": 50, "delayMs": 1500}
    )
    response = proxy.get()
    assert (response.status_code, slug_of(response)) == (504, "upstream-timeout")
    detail = response.json()["detail"]
    assert "read" in detail
    assert "applied" not in detail
    proxy.sandbox.clear_faults()
    wait_for(lambda: proxy.sandbox.concurrency()["current"] == 0)


def test_problem_types_resolve_to_the_deployments_own_page(proxy: Proxy) -> None:
    response = proxy.patch({"ammount": 1})
    type_uri = response.json()["type"]
    assert type_uri == f"{proxy.url}/problems#validation-failed"
    page = httpx.get(type_uri.split("#")[0], timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    anchors = set(re.findall(r'id="([a-z-]+)"', page.text))
    assert anchors == set(PROBLEM_TYPES)


def test_accept_with_q_zero_for_json_gets_problem_json(proxy: Proxy) -> None:
    response = proxy.patch({"ammount": 1}, headers={"Accept": "application/json;q=0"})
    assert response.headers["content-type"].startswith("application/problem+json")
    response = proxy.patch({"ammount": 1}, headers={"Accept": "application/json"})
    assert response.headers["content-type"].startswith("application/json")


def test_100_emoji_do_not_fit_a_100_character_description(proxy: Proxy) -> None:
    response = proxy.patch({"description": "\U0001f600" * 100})
    assert (response.status_code, slug_of(response)) == (422, "validation-failed")
    assert response.json()["errors"][0]["code"] == "too_long"
    assert patches(proxy) == []
    response = proxy.patch({"description": "\U0001f600" * 50})
    assert response.status_code == 200, response.text


EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def other_customers_invoice(proxy: Proxy) -> dict[str, Any]:
    """A posted invoice of a customer other than the first line's."""
    company = proxy.sandbox.seed["companies"][0]
    customer = stored_line(proxy.sandbox)["customerId"]
    return dict(next(i for i in company["invoices"] if i["posted"] and i["customerId"] != customer))


@pytest.mark.parametrize("invoice_property", ["appliesToInvoiceId", "appliesToInvoiceNumber"])
def test_a_customer_derived_from_the_invoice_is_not_held_against_a_lost_write(
    proxy: Proxy, outcomes: Configure, invoice_property: str
) -> None:
    """The empty customer beside an invoice: Business Central fills the
    invoice's customer in. After a lost answer the read-back must count that
    as the update, not as someone else's different values (412)."""
    invoice = other_customers_invoice(proxy)
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    value = invoice["id"] if invoice_property == "appliesToInvoiceId" else invoice["number"]
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "after"})
    response = proxy.patch({"customerId": EMPTY_GUID, invoice_property: value}, if_match=etag)
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown"), response.text
    current = response.json()["current"]
    assert current["customerId"] == invoice["customerId"]
    requests = bc_requests(proxy.sandbox)
    sent = [(r["method"], r["processedStatus"]) for r in requests]
    # The application check's one read (a $batch of GETs), the PATCH, the read-back.
    assert sent == [("POST", 200), ("PATCH", 200), ("GET", 200)]
    assert all(op["method"] == "GET" for op in requests[0]["body"]["requests"])
    assert stored_line(proxy.sandbox)["customerId"] == invoice["customerId"]


def test_a_strong_form_etag_is_the_same_version_after_a_lost_answer(
    proxy: Proxy, outcomes: Configure
) -> None:
    """If-Match "X" for the line's W/"X": Business Central accepts it, and the
    read-back must see the unchanged line as the same version and resend."""
    weak = str(stored_line(proxy.sandbox)["@odata.etag"])
    assert weak.startswith('W/"')
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "before"})
    response = proxy.patch({"amount": Decimal("33.33")}, if_match=weak.removeprefix("W/"))
    assert response.status_code == 200, response.text
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    assert sent == [("PATCH", None), ("GET", 200), ("PATCH", 200)]
    assert stored_line(proxy.sandbox)["amount"] == Decimal("33.33")


def test_a_refused_resend_proves_nothing_about_the_lost_send(
    proxy: Proxy, outcomes: Configure
) -> None:
    """The first PATCH is applied and its answer lost; the resend (If-Match: *)
    is refused with 403. The refusal says nothing about the first send: the
    answer is unknown, with the line as it is now, never a 4xx or 502."""
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 1, "drop": "after"},
        {**PATCH_RULE, "times": 5, "status": 403, "code": "Authorization_Failed"},
    )
    response = proxy.patch({"amount": Decimal("34.34")}, if_match="*")
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown"), response.text
    assert loads_exact(response.content)["current"]["amount"] == Decimal("34.34")
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    assert sent[0] == ("PATCH", 200)
    assert sent[-1] == ("GET", 200)
    assert [s for s in sent if s[0] == "PATCH"][1:] == [("PATCH", None)] * (len(sent) - 2)
    assert stored_line(proxy.sandbox)["amount"] == Decimal("34.34")


@pytest.mark.parametrize("if_match", ["etag", "*"])
def test_a_success_cut_mid_body_is_read_back_never_sent_again(
    proxy: Proxy, outcomes: Configure, if_match: str
) -> None:
    etag = str(stored_line(proxy.sandbox)["@odata.etag"]) if if_match == "etag" else "*"
    proxy.sandbox.add_faults({**PATCH_RULE, "times": 1, "drop": "midBody"})
    response = proxy.patch({"amount": Decimal("35.35")}, if_match=etag)
    assert response.status_code == 200, response.text
    assert loads_exact(response.content)["amount"] == Decimal("35.35")
    assert response.json()["etag"] == stored_line(proxy.sandbox)["@odata.etag"]
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    assert sent == [("PATCH", 200), ("GET", 200)]


# A resend's refusal, after a first attempt lost before Business Central ran it.
REFUSALS = {
    "409 EntityWithSameKeyExists": {"status": 409, "code": "Internal_EntityWithSameKeyExists"},
    "409 EntityChanged": {"status": 409, "code": "Request_EntityChanged"},
    "412": {"status": 412, "code": "Request_EntityChanged"},
    "409 unreadable": {"status": 409, "rawBody": "<html>Conflict</html>"},
    "400": {"status": 400, "code": "Application_FieldValidationException"},
    "500": {"status": 500, "code": "Internal_ServerError"},
}


@pytest.mark.parametrize("if_match", ["etag", "*"])
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refused_resend_is_never_passed_through(
    proxy: Proxy, outcomes: Configure, refusal: str, if_match: str
) -> None:
    """The first PATCH is lost (dropped before Business Central ran it, which
    the proxy cannot know); the resend is refused. Whatever the status, code or
    body, the refusal says nothing about the first attempt, which may still
    land: the answer is the line as it is now, read after the refusal."""
    before = stored_line(proxy.sandbox)
    sent_if_match = str(before["@odata.etag"]) if if_match == "etag" else "*"
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 1, "drop": "before"},
        {**PATCH_RULE, "times": 1, **REFUSALS[refusal]},
    )
    response = proxy.patch({"amount": Decimal("36.36")}, if_match=sent_if_match)
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown"), response.text
    assert response.json()["current"]["etag"] == before["@odata.etag"]
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    read_first = [("GET", 200)] if if_match == "etag" else []
    assert sent == [("PATCH", None), *read_first, ("PATCH", None), ("GET", 200)]
    assert stored_line(proxy.sandbox) == before


def test_a_refused_resend_whose_line_cannot_be_read_is_504(
    proxy: Proxy, outcomes: Configure
) -> None:
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 1, "drop": "before"},
        {**PATCH_RULE, "times": 1, "status": 409, "code": "Internal_EntityWithSameKeyExists"},
        {"method": "GET", "path": "customerPayments", "times": 50, "status": 500, "code": "X"},
    )
    response = proxy.patch({"amount": Decimal("37.37")}, if_match="*")
    assert (response.status_code, slug_of(response)) == (504, "upstream-timeout"), response.text
    assert "may or may not have been applied" in response.json()["detail"]


def test_a_gateways_503_after_the_write_is_read_before_anything_is_sent_again(
    proxy: Proxy, outcomes: Configure
) -> None:
    """Business Central applied the PATCH, then a gateway answered 503 with its
    own page: that proves nothing, so the line is read (it holds the update
    under a new ETag) instead of the PATCH being sent again and meeting its
    own write as "changed by someone else"."""
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults(
        {
            **PATCH_RULE,
            "times": 1,
            "processFirst": True,
            "status": 503,
            "rawBody": "<html>503</html>",
        }
    )
    response = proxy.patch({"amount": Decimal("38.38")}, if_match=etag)
    assert (response.status_code, slug_of(response)) == (409, "outcome-unknown"), response.text
    assert loads_exact(response.content)["current"]["amount"] == Decimal("38.38")
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    assert sent == [("PATCH", 200), ("GET", 200)]


def test_business_centrals_own_503_is_sent_again_without_a_read(
    proxy: Proxy, outcomes: Configure
) -> None:
    """Business Central's own 503 (its error body) comes before anything runs."""
    etag = str(stored_line(proxy.sandbox)["@odata.etag"])
    proxy.sandbox.add_faults(
        {**PATCH_RULE, "times": 1, "status": 503, "code": "Internal_TenantUnavailable"}
    )
    response = proxy.patch({"amount": Decimal("39.39")}, if_match=etag)
    assert response.status_code == 200, response.text
    sent = [(r["method"], r["processedStatus"]) for r in bc_requests(proxy.sandbox)]
    assert sent == [("PATCH", None), ("PATCH", 200)]
