"""JSON $batch: per-operation If-Match, the 100-operation limit, snapshot rollback."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from sandbox import jsonutil
from sandbox.bc import MAX_BATCH_OPERATIONS
from tests.sandbox.helpers import CORRELATION_SUFFIX, bc_error, exact
from tests.sandbox_fixtures import RunningSandbox


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
