"""JSON $batch: per-operation If-Match, ETag and error, the 100-operation limit,
snapshot rollback, the two behaviours of a failing operation, faults and
latency of a whole batch, and the one concurrency slot a batch holds."""

from __future__ import annotations

import concurrent.futures
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox import jsonutil
from sandbox.batch import MAX_BATCH_OPERATIONS
from tests.support.sandbox import RunningSandbox
from tests.support.sandbox_answers import CORRELATION_SUFFIX, bc_error, exact


def _relative(sandbox: RunningSandbox, line: int) -> str:
    return sandbox.payment_url(line=line).removeprefix(sandbox.api_url() + "/")


def _patch_op(
    sandbox: RunningSandbox,
    op_id: str,
    line: int,
    if_match: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "method": "PATCH",
        "id": op_id,
        "url": _relative(sandbox, line),
        "headers": {"Content-Type": "application/json", "If-Match": if_match},
        "body": body or {"amount": 10},
    }


def _batch(client, sandbox, ops, *, snapshot: bool = False):
    headers = {"Isolation": "snapshot"} if snapshot else {}
    return client.post(f"{sandbox.api_url()}/$batch", json={"requests": ops}, headers=headers)


def _etag(client: httpx.Client, sandbox: RunningSandbox, line: int) -> str:
    return client.get(sandbox.payment_url(line=line)).headers["etag"]


def test_batch_runs_each_operation_with_its_own_if_match(sandbox, client):
    etags = [_etag(client, sandbox, line) for line in (0, 1)]
    ops = [
        _patch_op(sandbox, "a", 0, etags[0], {"amount": Decimal("0.10")}),
        {"method": "GET", "id": "b", "url": sandbox.payment_url(line=1)},  # absolute URL
    ]
    response = client.post(
        f"{sandbox.api_url()}/$batch",
        content=jsonutil.dumps({"requests": ops}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    answers = exact(response)["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [("a", 200), ("b", 200)]
    patched = answers[0]
    assert patched["body"]["amount"] == Decimal("0.1")
    assert patched["headers"]["etag"] == patched["body"]["@odata.etag"] != etags[0]
    assert answers[1]["headers"]["etag"] == etags[1]
    assert exact(client.get(sandbox.payment_url(line=0)))["amount"] == Decimal("0.1")


def test_without_isolation_a_failure_does_not_undo_the_others(sandbox, client):
    ops = [
        _patch_op(sandbox, "1", 0, "*", {"comment": "kept"}),
        _patch_op(sandbox, "2", 1, 'W/"JzIxOzEyMDAwMDAwMDAwMDAwMDAwMDAwMTswMDsn"'),
        _patch_op(sandbox, "3", 2, "*", {"customerNumber": "nobody"}),
    ]
    answers = _batch(client, sandbox, ops).json()["responses"]
    assert [a["status"] for a in answers] == [200, 409, 400]
    assert answers[1]["body"]["error"]["code"] == "Request_EntityChanged"
    assert CORRELATION_SUFFIX.search(answers[2]["body"]["error"]["message"])
    assert client.get(sandbox.payment_url(line=0)).json()["comment"] == "kept"


def test_snapshot_isolation_rolls_the_whole_batch_back(sandbox, client):
    before = [client.get(sandbox.payment_url(line=line)) for line in (0, 1)]
    ops = [
        _patch_op(sandbox, "first", 0, before[0].headers["etag"], {"amount": 1}),
        _patch_op(sandbox, "second", 1, "*", {"description": "D" * 101}),
    ]
    response = _batch(client, sandbox, ops, snapshot=True)
    assert response.status_code == 200
    answers = {a["id"]: a for a in response.json()["responses"]}
    assert answers["second"]["status"] == 400
    assert answers["second"]["body"]["error"]["code"] == "Application_StringExceededLength"
    assert answers["first"]["status"] == 424
    for line, old in zip((0, 1), before, strict=True):
        now = client.get(sandbox.payment_url(line=line))
        assert now.json() == old.json()
        assert now.headers["etag"] == old.headers["etag"]


def test_snapshot_isolation_commits_when_everything_succeeds(sandbox, client):
    ops = [_patch_op(sandbox, str(line), line, "*", {"amount": 3}) for line in (0, 1, 2)]
    answers = _batch(client, sandbox, ops, snapshot=True).json()["responses"]
    assert [a["status"] for a in answers] == [200, 200, 200]
    assert all(client.get(sandbox.payment_url(line=n)).json()["amount"] == 3 for n in (0, 1, 2))


def test_at_most_100_operations(sandbox, client):
    get = {"method": "GET", "url": _relative(sandbox, 0)}
    ops = [{**get, "id": str(n)} for n in range(MAX_BATCH_OPERATIONS)]
    full = _batch(client, sandbox, ops)
    assert full.status_code == 200
    assert len(full.json()["responses"]) == 100
    over = [*ops, {**get, "id": "101"}]
    bc_error(_batch(client, sandbox, over), 400, "BadRequest")


def test_inner_operations_need_if_match_and_a_known_url(sandbox, client):
    ops = [
        {"method": "PATCH", "id": "1", "url": _relative(sandbox, 0), "body": {"amount": 1}},
        {"method": "GET", "id": "2", "url": "companies(0badc0de-0000-4000-8000-000000000000)"},
    ]
    answers = _batch(client, sandbox, ops).json()["responses"]
    assert [a["body"]["error"]["code"] for a in answers] == [
        "BadRequest_InvalidToken",
        "Internal_CompanyNotFound",
    ]
    assert [a["status"] for a in answers] == [400, 404]


def test_malformed_batch_body_is_bad_request(sandbox, client):
    response = client.post(f"{sandbox.api_url()}/$batch", content=b"{oops")
    bc_error(response, 400, "BadRequest")
    bc_error(client.post(f"{sandbox.api_url()}/$batch", json={"requests": 3}), 400, "BadRequest")


def test_over_100_operations_is_refused_with_business_centrals_message(sandbox, client):
    get = {"method": "GET", "url": _relative(sandbox, 0)}
    ops = [{**get, "id": str(n)} for n in range(MAX_BATCH_OPERATIONS + 1)]
    message = bc_error(_batch(client, sandbox, ops), 400, "BadRequest")
    assert message.startswith(
        "A maximum number of '100' query operations and change sets are allowed in a batch message."
    )
    assert sandbox.requests()[-1]["delayedMs"] == 0  # no operation ran


def test_an_operations_etag_is_its_next_if_match(sandbox, client):
    first = _batch(client, sandbox, [_patch_op(sandbox, "1", 0, "*", {"amount": 5})])
    etag = first.json()["responses"][0]["headers"]["etag"]
    ops = [
        _patch_op(sandbox, "fresh", 0, etag, {"amount": 6}),
        _patch_op(sandbox, "stale", 1, etag, {"amount": 6}),
    ]
    answers = _batch(client, sandbox, ops).json()["responses"]
    assert [a["status"] for a in answers] == [200, 409]
    assert answers[0]["headers"]["etag"] == client.get(sandbox.payment_url()).headers["etag"]
    assert answers[1]["body"]["error"]["code"] == "Request_EntityChanged"
    assert "etag" not in answers[1]["headers"]
    assert client.get(sandbox.payment_url(line=1)).json()["amount"] == 1250


# --- a failing operation: continue, or stop there --------------------------------------

_STALE = 'W/"JzIxOzEyMDAwMDAwMDAwMDAwMDAwMDAwMTswMDsn"'


def _ok_fail_ok(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [
        _patch_op(sandbox, "1", 0, "*", {"comment": "one"}),
        _patch_op(sandbox, "2", 1, _STALE, {"comment": "two"}),
        _patch_op(sandbox, "3", 2, "*", {"comment": "three"}),
    ]


def _comments(client: httpx.Client, sandbox: RunningSandbox) -> list[str]:
    return [client.get(sandbox.payment_url(line=n)).json()["comment"] for n in (0, 1, 2)]


def test_batch_mode_defaults_to_continue_and_can_be_set(sandbox, http):
    url = f"{sandbox.url}/_sandbox/batch"
    assert http.get(url).json() == {"onError": "continue"}
    assert http.post(url, json={"onError": "stop"}).json() == {"onError": "stop"}
    for bad in ({"onError": "halt"}, {}, {"onError": "stop", "extra": 1}):
        assert http.post(url, json=bad).status_code == 400
    assert http.get(url).json() == {"onError": "stop"}
    sandbox.reset()
    assert http.get(url).json() == {"onError": "continue"}


def test_continue_mode_runs_every_operation(sandbox, client):
    answers = _batch(client, sandbox, _ok_fail_ok(sandbox)).json()["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [("1", 200), ("2", 409), ("3", 200)]
    assert _comments(client, sandbox) == ["one", "", "three"]


def test_stop_mode_ends_the_batch_at_the_first_failing_operation(sandbox, client):
    sandbox.set_batch_on_error("stop")
    answers = _batch(client, sandbox, _ok_fail_ok(sandbox)).json()["responses"]
    # The operation after the failure has no response and did not run.
    assert [(a["id"], a["status"]) for a in answers] == [("1", 200), ("2", 409)]
    assert answers[1]["body"]["error"]["code"] == "Request_EntityChanged"
    assert _comments(client, sandbox) == ["one", "", "credit"]


@pytest.mark.parametrize(
    "prefer",
    ["odata.continue-on-error", "return=minimal, odata.continue-on-error", "continue-on-error"],
)
def test_stop_mode_continues_when_the_request_prefers_it(sandbox, client, prefer):
    sandbox.set_batch_on_error("stop")
    response = client.post(
        f"{sandbox.api_url()}/$batch",
        json={"requests": _ok_fail_ok(sandbox)},
        headers={"Prefer": prefer},
    )
    assert [a["status"] for a in response.json()["responses"]] == [200, 409, 200]
    assert _comments(client, sandbox) == ["one", "", "three"]


def test_stop_mode_with_continue_on_error_false_stops(sandbox, client):
    sandbox.set_batch_on_error("stop")
    response = client.post(
        f"{sandbox.api_url()}/$batch",
        json={"requests": _ok_fail_ok(sandbox)},
        headers={"Prefer": "odata.continue-on-error=false"},
    )
    assert [a["id"] for a in response.json()["responses"]] == ["1", "2"]


def test_stop_mode_with_snapshot_rolls_back_and_leaves_the_rest_unanswered(sandbox, client):
    sandbox.set_batch_on_error("stop")
    answers = _batch(client, sandbox, _ok_fail_ok(sandbox), snapshot=True).json()["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [("1", 424), ("2", 409)]
    assert _comments(client, sandbox) == ["", "", "credit"]


# --- faults, latency and the concurrency slot -------------------------------------------


def test_a_fault_rule_can_answer_the_whole_batch(sandbox, client):
    sandbox.add_faults(
        {
            "method": "POST",
            "path": "$batch",
            "status": 429,
            "code": "Application_TooManyRequests",
            "retryAfter": 2,
        }
    )
    ops = _ok_fail_ok(sandbox)
    throttled = _batch(client, sandbox, ops)
    bc_error(throttled, 429, "Application_TooManyRequests")
    assert throttled.headers["retry-after"] == "2"
    assert _comments(client, sandbox) == ["", "", "credit"]  # nothing ran
    assert sandbox.requests()[0]["processedStatus"] is None
    # The rule is used up: the same batch now runs.
    assert [a["status"] for a in _batch(client, sandbox, ops).json()["responses"]] == [
        200,
        409,
        200,
    ]


def test_a_batch_can_be_dropped_after_it_ran(sandbox, client):
    sandbox.add_faults({"path": "$batch", "drop": "after"})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        _batch(client, sandbox, _ok_fail_ok(sandbox))
    assert _comments(client, sandbox) == ["one", "", "three"]


def test_per_operation_latency_is_added_for_each_operation_run(sandbox, client):
    sandbox.set_latency(20, per_batch_operation_ms=30)
    get = {"method": "GET", "url": _relative(sandbox, 0)}
    assert _batch(client, sandbox, [{**get, "id": str(n)} for n in range(5)]).status_code == 200
    assert client.get(sandbox.payment_url()).status_code == 200
    sandbox.set_batch_on_error("stop")
    _batch(client, sandbox, _ok_fail_ok(sandbox))  # stops after two operations
    assert [e["delayedMs"] for e in sandbox.requests()] == [20 + 5 * 30, 20, 20 + 2 * 30]


def test_per_operation_latency_is_really_waited(sandbox, client):
    sandbox.set_latency(0, per_batch_operation_ms=100)
    get = {"method": "GET", "url": _relative(sandbox, 0)}
    ops = [{**get, "id": str(n)} for n in range(10)]
    # The answer takes at least 10 x 100 ms, so a client that waits 0.3 s gives up.
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{sandbox.api_url()}/$batch", json={"requests": ops}, timeout=0.3)
    sandbox.wait_for_concurrency(current=0)


def test_a_batch_holds_one_slot_for_all_its_operations(sandbox, client):
    sandbox.set_limits(concurrent=1, queue=0)
    sandbox.set_latency(0, per_batch_operation_ms=100)
    get = {"method": "GET", "url": _relative(sandbox, 0)}
    ops = [{**get, "id": str(n)} for n in range(10)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        batch = pool.submit(_batch, client, sandbox, ops)
        sandbox.wait_for_concurrency(current=1)
        with httpx.Client(headers=sandbox.auth_headers(), timeout=10) as other:
            bc_error(other.get(sandbox.payment_url()), 429, "Application_TooManyRequests")
        answers = batch.result().json()["responses"]
    assert [a["status"] for a in answers] == [200] * 10
    assert sandbox.concurrency()["max"] == 1


def test_the_request_log_shows_each_operations_own_status(sandbox, client):
    before = _etag(client, sandbox, 0)
    sandbox.clear_requests()
    # The first operation changes the line, so the second's ETag is stale.
    ops = [
        _patch_op(sandbox, "ok", 0, "*", {"comment": "logged"}),
        _patch_op(sandbox, "stale", 0, before),
    ]
    assert _batch(client, sandbox, ops).status_code == 200
    (entry,) = [r for r in sandbox.requests() if r["path"].endswith("/$batch")]
    assert entry["processedStatus"] == 200
    assert entry["operationStatuses"] == {"ok": 200, "stale": 409}
