"""The connector's bulk actions against the real proxy: each request is built
from the generated Swagger (path, parameters, internal defaults), sent to the
local host, and every answer is checked against the schema and headers the
connector declares for its status. An asynchronous action is run as the
designer runs it: each 202 is read for its Location and Retry-After only, and
Location is polled with no credentials until another answer, whose body is
the action's output."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from funchost.durable import DurableStandIn
from tests.support.connector import call, check
from tests.support.proxy import Proxy, bc_requests

pytestmark = pytest.mark.e2e


def as_designer(
    proxy: Proxy,
    durable: DurableStandIn,
    operation_id: str,
    values: dict[str, Any],
    body: Any = None,
) -> tuple[httpx.Response, list[httpx.Response]]:
    """The action as the designer runs it with the asynchronous pattern on: on
    each 202 it waits Retry-After (the stand-in's clock moves instead) and asks
    Location without the connection's credentials, until another answer.
    Returns that final answer, checked, and the 202s on the way."""
    answer = call(proxy, operation_id, values, body)
    accepted: list[httpx.Response] = []
    with httpx.Client(timeout=30) as anonymous:
        while answer.status_code == 202:
            check(operation_id, answer)
            accepted.append(answer)
            assert len(accepted) <= 5, "the job never finished"
            durable.wait_idle_sync()
            durable.advance(int(answer.headers["Retry-After"]))
            durable.wait_idle_sync()
            answer = anonymous.get(answer.headers["Location"])
    check(operation_id, answer)
    return answer, accepted


def journal(proxy: Proxy) -> dict[str, str]:
    ids = proxy.line()
    return {"companyId": ids["company"], "journalId": ids["journal"]}


def updates(proxy: Proxy, count: int) -> list[dict[str, Any]]:
    payments = proxy.sandbox.seed["companies"][0]["journals"][0]["payments"][:count]
    return [
        {"id": p["id"], "ifMatch": "*", "changes": {"comment": f"row {n}"}, "clientRef": f"r{n}"}
        for n, p in enumerate(payments)
    ]


def test_start_answers_202_polls_to_the_declared_result(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    sent = updates(proxy, 3)
    del sent[1]["clientRef"]  # optional
    sent[2]["ifMatch"] = 'W/"stale"'  # fails alone, as the same PATCH would: 412
    done, accepted = as_designer(
        proxy,
        durable,
        "StartBulkPaymentUpdate",
        {**journal(proxy), "Idempotency-Key": "statement 7"},
        {"updates": sent},
    )
    assert len(accepted) >= 1  # the start itself answered 202
    assert done.status_code == 200, done.text
    # Polling ends on the start action's own 200: its output is the finished job.
    result = check("StartBulkPaymentUpdate", done)
    assert (result["status"], result["counts"]) == (
        "CompletedWithErrors",
        {"updated": 2, "failed": 1, "unknown": 0},
    )
    assert [(i["clientRef"], i["outcome"], i["status"]) for i in result["items"]] == [
        ("r0", "updated", 200),
        (None, "updated", 200),
        ("r2", "failed", 412),
    ]
    # The status action takes the job id and the token at the end of Location.
    location = accepted[0].headers["Location"]
    token = location.split("token=")[-1]
    assert urlsplit(location).query == f"token={token}"
    status = call(proxy, "GetBulkPaymentUpdateStatus", {"jobId": result["jobId"], "token": token})
    assert status.status_code == 200
    assert check("GetBulkPaymentUpdateStatus", status) == result


def test_the_same_start_again_outputs_the_same_finished_job(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    """A flow's retry of a finished start (same key, same body) is polled to the
    same output; nothing is sent to Business Central again."""
    values = {**journal(proxy), "Idempotency-Key": "statement 8"}
    body = {"updates": updates(proxy, 2)}
    first, _ = as_designer(proxy, durable, "StartBulkPaymentUpdate", values, body)
    proxy.sandbox.clear_requests()
    again, accepted = as_designer(proxy, durable, "StartBulkPaymentUpdate", values, body)
    assert len(accepted) == 1  # still the asynchronous pattern: a 202 and its Location
    assert accepted[0].headers["Location"].startswith(proxy.url)
    assert (again.status_code, check("StartBulkPaymentUpdate", again)) == (
        200,
        check("StartBulkPaymentUpdate", first),
    )
    assert bc_requests(proxy.sandbox, "POST") == []
    assert bc_requests(proxy.sandbox, "PATCH") == []


def test_a_running_job_answers_the_declared_202(proxy: Proxy, durable: DurableStandIn) -> None:
    proxy.sandbox.add_faults(
        {"method": "POST", "path": "$batch", "times": 1, "status": 429,
         "code": "Application_TooManyRequests", "retryAfter": 30}
    )  # fmt: skip
    started = call(proxy, "StartBulkPaymentUpdate", journal(proxy), {"updates": updates(proxy, 1)})
    check("StartBulkPaymentUpdate", started)
    accepted = started.json()  # read by expressions when the asynchronous pattern is off
    durable.wait_idle_sync()  # asleep on its timer: still running
    token = accepted["statusUrl"].split("token=")[-1]
    running = call(
        proxy, "GetBulkPaymentUpdateStatus", {"jobId": accepted["jobId"], "token": token}
    )
    assert running.status_code == 202
    check("GetBulkPaymentUpdateStatus", running)
    progress = running.json()
    assert (progress["status"], progress["done"], progress["total"]) == ("Running", 0, 1)
    assert running.headers["Location"] == started.headers["Location"]
    durable.advance(30)
    durable.wait_done_sync(accepted["jobId"])


def test_validate_only_answers_the_declared_200_at_once(
    proxy: Proxy, durable: DurableStandIn
) -> None:
    proxy.sandbox.clear_requests()
    answer = call(
        proxy,
        "StartBulkPaymentUpdate",
        {**journal(proxy), "validateOnly": True},
        {"updates": updates(proxy, 3)},
    )
    assert answer.status_code == 200, answer.text
    assert check("StartBulkPaymentUpdate", answer) == {"valid": True, "total": 3}
    assert bc_requests(proxy.sandbox, "POST") == []  # nothing started, nothing sent


def test_problems_come_back_as_plain_json(proxy: Proxy, durable: DurableStandIn) -> None:
    wrong = call(proxy, "GetBulkPaymentUpdateStatus", {"jobId": "0" * 32, "token": "nope"})
    assert wrong.status_code == 404
    assert wrong.headers["content-type"].startswith("application/json")
    invalid = call(
        proxy,
        "StartBulkPaymentUpdate",
        journal(proxy),
        {"updates": [{**updates(proxy, 1)[0], "ifMatch": "no quotes"}]},
    )
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/json")
    assert invalid.json()["errors"][0]["field"] == "updates[0].ifMatch"
