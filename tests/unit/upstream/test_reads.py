"""Several reads in one request: GETs sent together in $batch requests of at most
100 operations, each answered on its own (a list, an entity or the problem Business
Central answered for it), and a failed $batch a problem for every read."""

from __future__ import annotations

import json
from typing import Any

import httpx

from shared.payment.refs import ForwardHeaders
from shared.process.problems import Problem
from shared.upstream.attempts import Budget
from shared.upstream.reads import Read, read_together
from shared.upstream.runtime import get_runtime
from tests.support.fakes import FakeBusinessCentral, answer_each, batch_answer, bc_error


async def read(reads: list[Read]) -> dict[str, Any]:
    bc = get_runtime().bc
    return await read_together(bc, "v2.0", reads, ForwardHeaders("reads-1"), Budget(5))


async def test_reads_go_a_hundred_to_a_batch_each_key_once(bc: FakeBusinessCentral) -> None:
    bc.responder = answer_each(lambda op: {"status": 200, "body": {"value": [{"url": op["url"]}]}})
    reads = [Read(f"r{n}", f"companies/x{n}") for n in range(150)] + [Read("r0", "companies/x0")]
    answers = await read(reads)
    sent = [json.loads(request.content)["requests"] for request in bc.requests]
    assert [len(operations) for operations in sent] == [100, 50]
    assert all(op["method"] == "GET" for operations in sent for op in operations)
    assert all(r.url.path.endswith("/api/v2.0/$batch") for r in bc.requests)
    assert bc.requests[0].headers["prefer"] == "odata.continue-on-error"
    assert len(answers) == 150
    assert answers["r149"] == [{"url": "companies/x149"}]


async def test_each_read_gets_its_own_answer(bc: FakeBusinessCentral) -> None:
    not_found = json.loads(bc_error(404, "BadRequest_NotFound", "No such record.").content)
    bc.responder = lambda request: batch_answer(
        {"id": "0", "status": 200, "body": {"value": [{"id": 1}, "not an entity"]}},
        {"id": "1", "status": 200, "body": {"id": 2}},
        {"id": "2", "status": 404, "body": not_found},
        {"id": "3", "status": 200, "body": "text"},
    )
    answers = await read([Read(key, f"companies/{key}") for key in "abcde"])
    assert answers["a"] == [{"id": 1}]
    assert answers["b"] == {"id": 2}
    assert isinstance(answers["c"], Problem)
    assert answers["c"].slug == "not-found"
    assert isinstance(answers["d"], Problem)
    assert answers["d"].detail == "Business Central answered a read with a body not in JSON."
    assert isinstance(answers["e"], Problem)  # no answer for it at all
    assert answers["e"].detail == "Business Central gave no answer for this read."


async def test_a_failed_batch_is_every_reads_problem(bc: FakeBusinessCentral) -> None:
    bc.responder = lambda request: bc_error(400, "BadRequest", "Malformed batch.")
    answers = await read([Read("a", "companies/a"), Read("b", "companies/b")])
    assert {key: getattr(answer, "slug", None) for key, answer in answers.items()} == {
        "a": "upstream-rejected",
        "b": "upstream-rejected",
    }
    bc.responder = lambda request: httpx.Response(200, content=b"{not json")
    unread = await read([Read("a", "companies/a")])
    assert isinstance(unread["a"], Problem)
