"""One $batch: what is sent, and how each operation's answer becomes the
outcome the same PATCH would get alone. Business Central is a MockTransport
here so that answers the sandbox never gives (a missing operation, an
unreadable body) can be tried; the end-to-end tests use the sandbox."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from shared.payment.refs import ForwardHeaders
from shared.upstream.attempts import Budget
from shared.upstream.batch import Journal, Operation, send_batch, settle_operations
from shared.upstream.runtime import get_runtime
from tests.support.fakes import (
    COMPANY,
    ETAG,
    JOURNAL,
    NEW_ETAG,
    FakeBusinessCentral,
    batch_answer,
    bc_error,
    bc_line,
)

THE_JOURNAL = Journal("v2.0", COMPANY, JOURNAL)
IDS = [f"{n:08x}-1111-4000-8000-000000000000" for n in range(1, 11)]


def ops(count: int, if_match: str = ETAG) -> list[Operation]:
    return [Operation(i, IDS[i], if_match, {"amount": Decimal("1.10")}) for i in range(count)]


async def send(operations: list[Operation]) -> Any:
    return await send_batch(
        get_runtime().bc, operations, THE_JOURNAL, ForwardHeaders("job-1"), Budget(5)
    )


def op_ok(index: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": str(index),
        "status": 200,
        "headers": {"ETag": NEW_ETAG},
        "body": bc_line(id=IDS[index], **{"amount": Decimal("2000.5"), **changes}),
    }


def op_error(index: int, status: int, code: str) -> dict[str, Any]:
    body = json.loads(bc_error(status, code, "no").content)
    return {"id": str(index), "status": status, "headers": {}, "body": body}


async def test_the_batch_request_is_what_business_central_documents(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = lambda request: batch_answer(op_ok(0), op_ok(1))
    await send(ops(2))
    request = bc.last
    assert request.method == "POST"
    assert request.url.path.endswith("/api/v2.0/$batch")
    assert request.headers["prefer"] == "odata.continue-on-error"
    assert "isolation" not in request.headers
    assert "if-match" not in request.headers
    assert request.headers["authorization"].startswith("Bearer ")
    sent = json.loads(request.content, parse_float=Decimal)
    assert sent["requests"][0] == {
        "id": "0",
        "method": "PATCH",
        "url": (
            f"companies({COMPANY})/customerPaymentJournals({JOURNAL})/customerPayments({IDS[0]})"
        ),
        "headers": {"Content-Type": "application/json", "If-Match": ETAG},
        "body": {"amount": Decimal("1.10")},
    }


async def test_each_operation_gets_its_own_outcome(bc: FakeBusinessCentral) -> None:
    bc.responder = lambda request: batch_answer(
        op_ok(0, amount=Decimal("1.1")),
        op_error(1, 400, "Application_StringExceededLength"),
        op_error(2, 404, "BadRequest_NotFound"),
        op_error(3, 409, "Request_EntityChanged"),
        op_error(4, 429, "Application_TooManyRequests"),
        op_error(5, 504, "GatewayTimeout"),
    )
    answer = await send(ops(7))
    assert answer.settled[0].status == 200
    assert answer.settled[0].line is not None
    assert answer.settled[0].line["etag"] == NEW_ETAG
    assert answer.settled[0].line["amount"] == Decimal("1.1")
    assert not [k for k in answer.settled[0].line if k.startswith("@odata")]
    assert (answer.settled[1].status, answer.settled[1].problem.slug) == (422, "upstream-rejected")
    assert (answer.settled[2].status, answer.settled[2].problem.slug) == (404, "not-found")
    # A changed ETag may be this very update from an earlier run: read first.
    assert answer.unknown == (3, 5)
    # Throttled (4) and never answered (6): not executed, sent again.
    assert answer.resend == (4, 6)
    assert answer.resend_problem is not None
    assert answer.resend_problem.slug == "upstream-throttled"


async def test_a_throttled_batch_is_resent_with_the_wait_it_asked_for(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = lambda request: httpx.Response(
        429, headers={"Retry-After": "7"}, json={"error": {"code": "x", "message": "slow"}}
    )
    answer = await send(ops(3))
    assert (answer.resend, answer.retry_after, answer.settled, answer.unknown) == (
        (0, 1, 2),
        7.0,
        {},
        (),
    )
    assert len(bc.requests) == 1  # one attempt: the orchestrator waits, not the activity


async def test_lost_or_unreadable_batch_answers_are_unknown(bc: FakeBusinessCentral) -> None:
    for responder in (
        lambda request: httpx.Response(200, content=b"<html>gateway</html>"),
        lambda request: httpx.Response(504, content=b""),
        _drop,
    ):
        bc.responder = responder
        answer = await send(ops(2))
        assert answer.unknown == (0, 1)
        assert answer.settled == {}


def _drop(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


async def test_a_refused_batch_fails_every_item_without_resending(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = lambda request: bc_error(403, "Authentication_InvalidCredentials", "no")
    answer = await send(ops(2))
    assert {o.problem.slug for o in answer.settled.values()} == {"upstream-auth-failed"}
    assert answer.resend == ()


async def test_nothing_sent_means_resend(bc: FakeBusinessCentral) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    bc.responder = refuse
    answer = await send(ops(2))
    assert answer.resend == (0, 1)
    assert answer.resend_problem is not None
    assert answer.resend_problem.slug == "upstream-unavailable"


# --- settling item by item --------------------------------------------------------


async def settle(operations: list[Operation]) -> Any:
    return await settle_operations(
        get_runtime().bc, operations, THE_JOURNAL, ForwardHeaders("job-1"), 5
    )


def batch_reads(lines: dict[str, dict[str, Any]], request: httpx.Request) -> httpx.Response:
    """Business Central's answer to a $batch of GETs: each line, or 404."""
    answers = []
    for op in json.loads(request.content)["requests"]:
        assert op["method"] == "GET"
        payment = op["url"].rsplit("(", 1)[1].rstrip(")")
        line = lines.get(payment)
        if line is None:
            body = {"error": {"code": "BadRequest_NotFound", "message": "gone"}}
            answers.append({"id": op["id"], "status": 404, "body": body})
        else:
            answers.append({"id": op["id"], "status": 200, "body": line})
    return batch_answer(*answers)


def batch_methods(request: httpx.Request) -> list[str]:
    return [op["method"] for op in json.loads(request.content)["requests"]]


async def test_settling_reads_every_line_in_one_batch_then_resends_what_is_missing(
    bc: FakeBusinessCentral,
) -> None:
    """ETag unchanged (in either entity-tag form): not applied, so sent again
    in one batch; changed and holding the values: unknown with the current
    line; changed without them: 412; the line gone: 404."""
    lines = {
        IDS[0]: bc_line(id=IDS[0], amount=Decimal("3"), **{"@odata.etag": ETAG}),
        IDS[1]: bc_line(id=IDS[1], amount=Decimal("1.1")),
        IDS[2]: bc_line(id=IDS[2], amount=Decimal("5")),
        IDS[3]: bc_line(id=IDS[3], amount=Decimal("3"), **{"@odata.etag": ETAG}),
    }
    operations = [*ops(4)[:3], Operation(3, IDS[3], ETAG.removeprefix("W/"), {"amount": 1})]
    operations.append(Operation(4, IDS[4], ETAG, {"amount": Decimal("1.10")}))

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/api/v2.0/$batch")
        if batch_methods(request)[0] == "GET":
            return batch_reads(lines, request)
        sent = json.loads(request.content)["requests"]
        assert [(op["id"], op["headers"]["If-Match"]) for op in sent] == [
            ("0", ETAG),
            ("3", ETAG.removeprefix("W/")),
        ]
        return batch_answer(op_ok(0, amount=Decimal("1.1")), op_ok(3, amount=Decimal(1)))

    bc.responder = answer
    outcomes = await settle(operations)
    assert outcomes[0].kind == "updated"
    assert outcomes[3].kind == "updated"
    assert outcomes[1].kind == "unknown"
    assert outcomes[1].status == 409
    assert outcomes[1].problem.current["etag"] == NEW_ETAG
    assert (outcomes[2].status, outcomes[2].problem.slug) == (412, "etag-mismatch")
    assert (outcomes[4].status, outcomes[4].problem.slug) == (404, "not-found")
    # One read, one resend: never a request per item.
    assert [batch_methods(r) for r in bc.requests] == [["GET"] * 5, ["PATCH"] * 2]


async def test_settling_with_star_reads_then_simply_sends_again(bc: FakeBusinessCentral) -> None:
    lines = {IDS[n]: bc_line(id=IDS[n], amount=Decimal("9")) for n in range(2)}

    def answer(request: httpx.Request) -> httpx.Response:
        if batch_methods(request)[0] == "GET":
            return batch_reads(lines, request)
        return batch_answer(op_ok(0, amount=Decimal("1.1")), op_ok(1, amount=Decimal("1.1")))

    bc.responder = answer
    outcomes = await settle(ops(2, if_match="*"))
    assert {o.kind for o in outcomes.values()} == {"updated"}
    assert [batch_methods(r) for r in bc.requests] == [["GET", "GET"], ["PATCH", "PATCH"]]


async def test_a_refused_resend_after_a_lost_batch_is_unknown_with_the_line(
    bc: FakeBusinessCentral,
) -> None:
    """The resend is refused (403 to the whole batch): that proves nothing
    about the lost send, so each item is read again and answered unknown."""
    lines = {IDS[n]: bc_line(id=IDS[n], amount=Decimal("9")) for n in range(2)}

    def answer(request: httpx.Request) -> httpx.Response:
        if batch_methods(request)[0] == "GET":
            return batch_reads(lines, request)
        return bc_error(403, "Authorization_Failed", "The credentials are not authorized.")

    bc.responder = answer
    outcomes = await settle(ops(2, if_match="*"))
    assert {(o.status, o.problem.slug) for o in outcomes.values() if o.problem} == {
        (409, "outcome-unknown")
    }
    assert [o.problem.current["amount"] for o in outcomes.values() if o.problem] == [9, 9]
    assert [batch_methods(r) for r in bc.requests] == [["GET"] * 2, ["PATCH"] * 2, ["GET"] * 2]


async def test_settling_that_cannot_read_stays_unknown_and_sends_nothing(
    bc: FakeBusinessCentral,
) -> None:
    bc.responder = lambda request: httpx.Response(500, content=b"")
    outcomes = await settle(ops(2))
    assert {(o.kind, o.status) for o in outcomes.values()} == {("unknown", 504)}
    assert [batch_methods(r) for r in bc.requests] == [["GET", "GET"]]
