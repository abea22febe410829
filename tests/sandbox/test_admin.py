"""The admin API: seed, reset, request log, latency, fault rules, concurrency, lines."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.app import create_sandbox_app
from sandbox.seed import ENVIRONMENT, TENANT_ID
from tests.support.sandbox import start_sandbox
from tests.support.sandbox_answers import bc_error, exact

# --- seed and reset --------------------------------------------------------------------


def test_seed_lists_fixed_ids_that_exist(sandbox, client):
    seed = sandbox.seed
    assert (seed["tenant"], seed["environment"]) == (TENANT_ID, ENVIRONMENT)
    assert len(seed["companies"]) >= 2
    for company in seed["companies"]:
        assert any(len(j["payments"]) >= 3 for j in company["journals"])
        customer_ids = {c["id"] for c in company["customers"]}
        assert all(i["customerId"] in customer_ids for i in company["invoices"])
        for journal in company["journals"]:
            for payment in journal["payments"]:
                uuid.UUID(payment["id"])
                line = exact(
                    client.get(
                        f"{sandbox.api_url()}/companies({company['id']})/customerPaymentJournals"
                        f"({journal['id']})/customerPayments({payment['id']})"
                    )
                )
                assert line["amount"] == payment["amount"]
                assert line["customerId"] == payment["customerId"]


def test_seed_is_the_same_for_every_app_instance(sandbox):
    other = create_sandbox_app(identity_header="another")

    async def fetch() -> Any:
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return exact(await http.get("/_sandbox/seed"))

    assert asyncio.run(fetch()) == sandbox.seed


def test_reset_restores_data_and_clears_every_setting_and_counter(sandbox, client, http):
    url = sandbox.payment_url()
    original = client.get(url)
    assert client.patch(url, json={"amount": 1}, headers={"If-Match": "*"}).status_code == 200
    added = sandbox.add_lines(3)
    sandbox.add_faults({"path": "companies", "status": 500, "times": 5})
    sandbox.set_latency(5000, per_batch_operation_ms=50)
    sandbox.set_limits(concurrent=1, queue=0)
    sandbox.set_batch_on_error("stop")
    sandbox.set_token_lifetime(60)
    http.get(sandbox.identity_endpoint, headers={"X-IDENTITY-HEADER": sandbox.identity_header})
    sandbox.reset()
    restored = client.get(url)
    assert restored.status_code == 200
    assert restored.json() == original.json()
    assert restored.headers["etag"] == original.headers["etag"]
    assert client.get(sandbox.line_url(added[0])).status_code == 404
    assert len(sandbox.requests()) == 2
    admin = f"{sandbox.url}/_sandbox"
    assert http.get(f"{admin}/faults").json() == {"rules": []}
    assert http.get(f"{admin}/latency").json() == {"ms": 0, "perBatchOperationMs": 0}
    assert http.get(f"{admin}/limits").json() == {
        "concurrent": 5,
        "queue": 95,
        "requests": 6000,
        "windowS": 300,
    }
    assert http.get(f"{admin}/batch").json() == {"onError": "continue"}
    assert sandbox.token_requests() == 0
    assert sandbox.concurrency() == {"current": 0, "max": 1, "queued": 0}
    # The window holds the two requests since the reset; the reset cleared the rest.
    assert sandbox.rate_window() == {"inWindow": 2, "refused": 0}


# --- request log ---------------------------------------------------------------------


def test_request_log_shows_requests_with_redacted_token(sandbox, client, http):
    url = sandbox.payment_url()
    client.patch(
        url + "?$select=amount",
        content=b'{"amount": 12.340, "comment": "x"}',
        headers={"If-Match": "*", "Content-Type": "application/json", "X-Request-ID": "abc-1"},
    )
    client.post(f"{sandbox.api_url()}/companies", content=b"not json")
    client.get(url)
    http.get(sandbox.identity_endpoint)  # not a Business Central request
    log = sandbox.requests()
    assert [entry["method"] for entry in log] == ["PATCH", "POST", "GET"]
    patch = log[0]
    assert patch["path"] == url.removeprefix(sandbox.url)
    assert patch["query"] == "$select=amount"
    assert patch["headers"]["authorization"] == "Bearer <redacted>"
    assert patch["headers"]["x-request-id"] == "abc-1"
    assert all(name == name.lower() for name in patch["headers"])
    assert patch["body"] == {"amount": Decimal("12.340"), "comment": "x"}
    assert log[1]["body"] == "not json"
    assert log[2]["body"] is None
    raw = http.get(f"{sandbox.url}/_sandbox/requests").text
    assert '"amount":12.340' in raw  # exactly the digits that were sent
    assert sandbox.token() not in raw
    assert not re.search(r"Bearer (?!<redacted>)", raw)


def test_request_log_entries_say_when_they_were_received(sandbox, client):
    before = dt.datetime.now(dt.UTC)
    for _ in range(3):
        client.get(f"{sandbox.api_url()}/companies")
    after = dt.datetime.now(dt.UTC)
    stamps = [entry["receivedAt"] for entry in sandbox.requests()]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s) for s in stamps)
    times = [dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z") for s in stamps]
    assert times == sorted(times)
    # receivedAt is truncated to the millisecond.
    assert before - dt.timedelta(milliseconds=1) <= times[0]
    assert times[-1] <= after


def test_request_log_keeps_only_the_most_recent_entries():
    with start_sandbox(max_logged_requests=5) as small:
        with httpx.Client(headers=small.auth_headers(), timeout=10) as client:
            for n in range(8):
                client.get(f"{small.api_url()}/companies", params={"n": n})
        assert [entry["query"] for entry in small.requests()] == [f"n={n}" for n in range(3, 8)]


def test_the_request_log_holds_ten_thousand_entries_by_default(sandbox):
    log = create_sandbox_app(identity_header="h").state.sandbox.requests
    assert log.max_entries == 10_000


def test_clearing_the_request_log_keeps_data_faults_and_limits(sandbox, client, http):
    url = sandbox.payment_url()
    assert client.patch(url, json={"amount": 3}, headers={"If-Match": "*"}).status_code == 200
    sandbox.add_faults({"path": "salesInvoices", "status": 503})
    sandbox.set_limits(concurrent=2, queue=1)
    sandbox.set_latency(10)
    assert http.delete(f"{sandbox.url}/_sandbox/requests").json() == []
    assert sandbox.requests() == []
    assert exact(client.get(url))["amount"] == 3
    assert len(sandbox.faults()) == 1
    assert http.get(f"{sandbox.url}/_sandbox/limits").json() == {
        "concurrent": 2,
        "queue": 1,
        "requests": 6000,
        "windowS": 300,
    }
    assert http.get(f"{sandbox.url}/_sandbox/latency").json()["ms"] == 10
    sandbox.clear_requests()
    client.get(url)
    assert [entry["method"] for entry in sandbox.requests()] == ["GET"]


# --- latency ------------------------------------------------------------------------------


def test_latency_setting_is_the_whole_setting(sandbox, http):
    url = f"{sandbox.url}/_sandbox/latency"
    both = {"ms": 100, "perBatchOperationMs": 5}
    assert http.post(url, json=both).json() == both
    assert http.post(url, json={"ms": 40}).json() == {"ms": 40, "perBatchOperationMs": 0}
    assert http.get(url).json() == {"ms": 40, "perBatchOperationMs": 0}


def test_latency_delays_every_business_central_answer(sandbox, client):
    sandbox.set_latency(300)
    # The answer is held at least 300 ms: a client that waits 50 ms gives up.
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{sandbox.api_url()}/companies", timeout=0.05)
    sandbox.add_faults({"path": "salesInvoices", "status": 503})
    company = sandbox.seed["companies"][0]["id"]
    assert client.get(f"{sandbox.api_url()}/companies({company})/salesInvoices").status_code == 503
    assert [entry["delayedMs"] for entry in sandbox.requests()] == [300, 300]


def test_latency_does_not_apply_to_the_identity_endpoint(sandbox, http):
    sandbox.set_latency(120_000)
    # With two minutes of latency this would time out; the identity endpoint is not BC.
    response = http.get(
        sandbox.identity_endpoint,
        params={
            "api-version": "2019-08-01",
            "resource": "https://api.businesscentral.dynamics.com",
        },
        headers={"X-IDENTITY-HEADER": sandbox.identity_header},
        timeout=30,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"ms": -1}, {"ms": "100"}, {"perBatchOperationMs": -5}, {"ms": 1, "perOpMs": 2}],
)
def test_latency_rejects_bad_values(sandbox, http, body):
    url = f"{sandbox.url}/_sandbox/latency"
    assert http.post(url, json=body).status_code == 400
    assert http.get(url).json() == {"ms": 0, "perBatchOperationMs": 0}


# --- fault rules ---------------------------------------------------------------------------


def test_status_rule_answers_with_envelope_and_retry_after_then_expires(sandbox, client):
    sandbox.add_faults(
        {
            "method": "PATCH",
            "path": "customerPayments",
            "times": 2,
            "status": 429,
            "code": "Application_TooManyRequests",
            "retryAfter": 1,
        }
    )
    url = sandbox.payment_url()
    for _ in range(2):
        response = client.patch(url, json={"amount": 5}, headers={"If-Match": "*"})
        bc_error(response, 429, "Application_TooManyRequests")
        assert response.headers["retry-after"] == "1"
    assert exact(client.get(url))["amount"] == Decimal("2000.5")  # not processed
    assert client.patch(url, json={"amount": 5}, headers={"If-Match": "*"}).status_code == 200
    assert [e["method"] for e in sandbox.requests()] == ["PATCH", "PATCH", "GET", "PATCH"]


def test_rule_method_and_path_select_requests(sandbox, client):
    sandbox.add_faults({"method": "PATCH", "path": "customerPayments", "status": 503})
    assert client.get(sandbox.payment_url()).status_code == 200
    assert client.get(f"{sandbox.api_url()}/companies").status_code == 200
    patched = client.patch(sandbox.payment_url(), json={"amount": 5}, headers={"If-Match": "*"})
    assert patched.status_code == 503


def test_rules_apply_in_the_order_added(sandbox, client):
    sandbox.add_faults(
        {"path": "companies", "status": 500, "code": "First"},
        {"path": "companies", "status": 502, "code": "Second"},
    )
    url = f"{sandbox.api_url()}/companies"
    bc_error(client.get(url), 500, "First")
    bc_error(client.get(url), 502, "Second")
    assert client.get(url).status_code == 200


def test_raw_body_rule_sends_a_malformed_answer(sandbox, client):
    sandbox.add_faults({"path": "companies", "status": 502, "rawBody": "<html>Bad gateway"})
    response = client.get(f"{sandbox.api_url()}/companies")
    assert response.status_code == 502
    assert response.text == "<html>Bad gateway"


def test_drop_before_closes_the_connection_without_processing(sandbox, client):
    sandbox.add_faults({"method": "PATCH", "path": "customerPayments", "drop": "before"})
    url = sandbox.payment_url()
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.patch(url, json={"amount": 7}, headers={"If-Match": "*"})
    assert exact(client.get(url))["amount"] == Decimal("2000.5")
    assert sandbox.requests()[0]["body"] == {"amount": 7}


def test_drop_after_applies_the_change_then_closes_the_connection(sandbox, client):
    sandbox.add_faults({"method": "PATCH", "path": "customerPayments", "drop": "after"})
    url = sandbox.payment_url()
    before = client.get(url).headers["etag"]
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.patch(url, json={"amount": 7}, headers={"If-Match": before})
    after = client.get(url)
    assert exact(after)["amount"] == 7
    assert after.headers["etag"] != before


def test_process_first_applies_the_change_then_answers_the_rules_status(sandbox, client):
    sandbox.add_faults(
        {"method": "PATCH", "path": "customerPayments", "processFirst": True, "status": 500},
        {
            "method": "PATCH",
            "path": "customerPayments",
            "processFirst": True,
            "status": 503,
            "rawBody": "<html>Service Unavailable</html>",
        },
    )
    url = sandbox.payment_url()
    before = client.get(url).headers["etag"]
    bc_error(client.patch(url, json={"amount": 7}, headers={"If-Match": before}), 500, "Unknown")
    after = client.get(url)
    assert exact(after)["amount"] == 7
    assert after.headers["etag"] != before
    gateway = client.patch(url, json={"amount": 8}, headers={"If-Match": "*"})
    assert (gateway.status_code, gateway.text) == (503, "<html>Service Unavailable</html>")
    assert exact(client.get(url))["amount"] == 8
    processed = [e["processedStatus"] for e in sandbox.requests() if e["method"] == "PATCH"]
    assert processed == [200, 200]


async def test_drop_is_seen_by_an_async_client_too(sandbox):
    sandbox.add_faults({"path": "companies", "drop": "before"})
    async with httpx.AsyncClient(headers=sandbox.auth_headers()) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.get(f"{sandbox.api_url()}/companies")
        # The pool recovers: the next request gets a fresh connection.
        assert (await client.get(f"{sandbox.api_url()}/companies")).status_code == 200


def test_delay_rule_processes_normally_but_answers_later(sandbox, client):
    sandbox.set_latency(20)
    sandbox.add_faults({"method": "PATCH", "path": "customerPayments", "delayMs": 300})
    url = sandbox.payment_url()
    response = client.patch(url, json={"amount": 9}, headers={"If-Match": "*"})
    assert response.status_code == 200
    assert exact(response)["amount"] == 9
    client.patch(url, json={"amount": 10}, headers={"If-Match": "*"})
    # The rule's delay adds to the latency, and only for the one request it takes.
    assert [entry["delayedMs"] for entry in sandbox.requests()] == [320, 20]


def test_a_delayed_answer_times_out_a_client_while_the_change_lands(sandbox, client):
    sandbox.add_faults({"method": "PATCH", "path": "customerPayments", "delayMs": 500})
    url = sandbox.payment_url()
    with pytest.raises(httpx.ReadTimeout):
        client.patch(url, json={"amount": 11}, headers={"If-Match": "*"}, timeout=0.1)
    assert exact(client.get(url))["amount"] == 11
    # Let the delayed answer finish so it does not count as in flight later.
    deadline = time.monotonic() + 5
    while sandbox.concurrency()["current"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sandbox.concurrency()["current"] == 0


def test_corrupt_body_rule_applies_the_patch_then_sends_undecodable_gzip(sandbox, client):
    sandbox.add_faults({"method": "PATCH", "path": "customerPayments", "corruptBody": True})
    url = sandbox.payment_url()
    before = client.get(url).headers["etag"]
    with client.stream("PATCH", url, json={"amount": 7}, headers={"If-Match": before}) as answer:
        # Business Central's real status and headers...
        assert answer.status_code == 200
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.headers["content-type"].startswith("application/json")
        new_etag = answer.headers["etag"]
        # ...over a body that does not decode.
        with pytest.raises(httpx.DecodingError):
            answer.read()
    after = client.get(url)
    assert exact(after)["amount"] == 7
    assert after.headers["etag"] == new_etag != before
    assert [e["processedStatus"] for e in sandbox.requests()] == [200, 200, 200]


def test_corrupt_body_keeps_an_error_status_and_the_rule_is_used_up(sandbox, client):
    sandbox.add_faults({"path": "customerPayments", "corruptBody": True})
    url = sandbox.payment_url()
    with pytest.raises(httpx.DecodingError):
        client.patch(url, json={"amount": 7})  # no If-Match: 400
    assert sandbox.requests()[0]["processedStatus"] == 400
    assert client.patch(url, json={"amount": 7}).json()["error"]["code"] == (
        "BadRequest_InvalidToken"
    )
    assert sandbox.faults() == []


async def test_corrupt_body_fails_an_async_client_too(sandbox):
    sandbox.add_faults({"path": "companies", "corruptBody": True, "times": 2})
    async with httpx.AsyncClient(headers=sandbox.auth_headers()) as client:
        with pytest.raises(httpx.DecodingError):
            await client.get(f"{sandbox.api_url()}/companies")
        async with client.stream("GET", f"{sandbox.api_url()}/companies") as answer:
            assert answer.status_code == 200
            raw = b"".join([chunk async for chunk in answer.aiter_raw()])
    assert raw.startswith(b"\x1f\x8b")  # looks like gzip, but is not


def test_corrupt_body_rule_applies_to_the_identity_endpoint(sandbox, http):
    sandbox.add_faults({"path": "/msi/token", "corruptBody": True})
    with pytest.raises(httpx.DecodingError):
        http.get(sandbox.identity_endpoint, headers={"X-IDENTITY-HEADER": sandbox.identity_header})


@pytest.mark.parametrize(
    "rule",
    [
        {"path": "x", "corruptBody": True, "status": 500},
        {"path": "x", "corruptBody": True, "drop": "after"},
        {"path": "x", "corruptBody": "yes"},
        {"path": "x", "corruptBody": False},
        {"path": "x"},
        {"path": "x", "drop": "sideways"},
        {"path": "x", "drop": "before", "status": 500},
        {"path": "x", "status": 500, "times": 0},
        {"path": "x", "status": 42},
        {"path": "x", "status": 500, "colour": "red"},
        {"path": "x", "processFirst": True},
        {"path": "x", "processFirst": True, "drop": "after"},
        {"path": "x", "processFirst": "yes", "status": 500},
        "not an object",
    ],
)
def test_invalid_rules_are_refused(sandbox, http, rule):
    response = http.post(f"{sandbox.url}/_sandbox/faults", json={"rules": [rule]})
    assert response.status_code == 400
    assert http.get(f"{sandbox.url}/_sandbox/faults").json() == {"rules": []}


def test_delete_removes_all_rules(sandbox, client, http):
    sandbox.add_faults({"path": "companies", "status": 500, "times": 10})
    assert http.delete(f"{sandbox.url}/_sandbox/faults").json() == {"rules": []}
    assert client.get(f"{sandbox.api_url()}/companies").status_code == 200


# --- concurrency ------------------------------------------------------------------------------


async def test_concurrency_reports_requests_in_flight_and_the_maximum(sandbox):
    sandbox.set_latency(1000)
    url = f"{sandbox.api_url()}/companies"
    async with httpx.AsyncClient(headers=sandbox.auth_headers(), timeout=10) as client:
        pending = asyncio.gather(*(client.get(url) for _ in range(4)))
        during = await sandbox.wait_for_concurrency_async(current=4)
        responses = await pending
        after = (await client.get(f"{sandbox.url}/_sandbox/concurrency")).json()
    assert all(r.status_code == 200 for r in responses)
    assert during == {"current": 4, "max": 4, "queued": 0}
    assert after == {"current": 0, "max": 4, "queued": 0}
    sandbox.reset()
    assert sandbox.concurrency() == {"current": 0, "max": 0, "queued": 0}


# --- loopback only -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_host", "status"),
    [("10.1.2.3", 403), ("192.168.0.7", 403), ("127.0.0.1", 200), ("::1", 200)],
)
async def test_admin_api_answers_loopback_clients_only(client_host, status):
    app = create_sandbox_app(identity_header="h")
    transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        for method, path in [("GET", "seed"), ("POST", "reset"), ("GET", "requests")]:
            response = await http.request(method, f"/_sandbox/{path}")
            assert response.status_code == status, (method, path)


def test_request_log_records_what_the_emulator_processed(sandbox, client):
    url = sandbox.payment_url()
    sandbox.add_faults(
        {"method": "PATCH", "path": "customerPayments", "times": 1, "status": 429},
        {"method": "PATCH", "path": "customerPayments", "times": 1, "drop": "before"},
        {"method": "PATCH", "path": "customerPayments", "times": 1, "drop": "after"},
    )
    etag = client.get(url).headers["etag"]
    assert client.patch(url, json={"amount": 1}, headers={"If-Match": etag}).status_code == 429
    for _ in range(2):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.patch(url, json={"amount": 1}, headers={"If-Match": etag})
    stale = client.patch(url, json={"amount": 2}, headers={"If-Match": etag})
    assert stale.status_code == 409
    patches = [r["processedStatus"] for r in sandbox.requests() if r["method"] == "PATCH"]
    # Fault-answered and dropped-before requests were never processed; the
    # dropped-after one was (the write happened), and the stale one was refused.
    assert patches == [None, None, 200, 409]


def test_an_empty_setting_restores_every_default(sandbox, http):
    admin = f"{sandbox.url}/_sandbox"
    sandbox.set_latency(250, per_batch_operation_ms=5)
    answer = http.post(f"{admin}/latency", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ms": 0, "perBatchOperationMs": 0}
    limits = http.post(f"{admin}/limits", json={"concurrent": 2})
    assert limits.json()["concurrent"] == 2
    assert http.post(f"{admin}/limits", json={}).json() == {
        "concurrent": 5,
        "queue": 95,
        "requests": 6000,
        "windowS": 300,
    }


def test_current_lines_show_what_was_changed_in_pages(sandbox, client, http):
    admin = f"{sandbox.url}/_sandbox/lines"
    seeded = sandbox.seed["companies"][0]["journals"][0]["payments"][0]
    client.patch(
        sandbox.payment_url(),
        content=b'{"comment": "changed since the seed"}',
        headers={"If-Match": "*", "Content-Type": "application/json"},
    )
    everything = http.get(admin, params={"top": 1000}).json()
    assert everything["next"] is None
    lines = {line["id"]: line for line in everything["lines"]}
    assert len(lines) == everything["total"]
    assert lines[seeded["id"]]["comment"] == "changed since the seed"
    assert lines[seeded["id"]]["@odata.etag"].startswith('W/"')
    assert lines[seeded["id"]]["companyId"] == sandbox.seed["companies"][0]["id"]

    first = http.get(admin, params={"top": 2}).json()
    assert [line["id"] for line in first["lines"]] == list(lines)[:2]
    assert first["next"] == "/_sandbox/lines?skip=2&top=2"
    second = http.get(f"{sandbox.url}{first['next']}").json()
    assert [line["id"] for line in second["lines"]] == list(lines)[2:4]


@pytest.mark.parametrize("query", ["top=0", "top=1001", "skip=-1", "top=ten"])
def test_current_lines_refuse_a_bad_page(sandbox, http, query):
    assert http.get(f"{sandbox.url}/_sandbox/lines?{query}").status_code == 400


def test_utilization_reports_seconds_at_each_count_per_principal(sandbox, client, http):
    sandbox.set_latency(200)
    assert client.get(sandbox.payment_url()).status_code == 200
    use = http.get(f"{sandbox.url}/_sandbox/utilization").json()
    (counts,) = use["principals"].values()
    assert counts["1"] >= 0.2  # the request held its slot through the latency
    assert use["seconds"] >= sum(counts.values()) - 0.01
    sandbox.reset()
    again = http.get(f"{sandbox.url}/_sandbox/utilization").json()
    assert again["seconds"] < use["seconds"]
    assert all(set(c) == {"0"} for c in again["principals"].values())
