"""What keeps a large job's replays and status answers bounded: several batches a step,
activity results whose item part the orchestrator does not parse on replays, a result
written one item a line and paged; and what jobs started before all that still read."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.bulk.activities import answer_text
from shared.bulk.job import STEPS_PER_SLOT, Job, JobSlice, batches_per_step
from shared.bulk.orchestration import _answer_of
from shared.bulk.plan import JobPlan, pack_settled
from shared.bulk.results import MAX_PAGE, JobResult, write_result
from shared.process.jsonio import dumps_exact, loads_exact
from shared.upstream.batch import Operation


@pytest.mark.parametrize(
    ("total", "size", "window", "expected"),
    [(1000, 100, 2, 1), (1, 100, 2, 1), (2000, 100, 2, 2), (10000, 100, 2, 10), (60, 2, 2, 3)],
)
def test_batches_a_step(total: int, size: int, window: int, expected: int) -> None:
    assert batches_per_step(total, size, window) == expected


@given(st.integers(1, 20000), st.integers(1, 100), st.integers(1, 20))
def test_a_job_has_a_bounded_number_of_steps_whatever_its_size(
    total: int, size: int, window: int
) -> None:
    per_step = batches_per_step(total, size, window)
    plan = JobPlan.start(total, size, window, batches_per_step=per_step)
    assert len(plan.ready) <= window * STEPS_PER_SLOT
    # Every item once, in order, each step a whole number of batches but the last.
    indexes = [i for step in plan.ready for i in step.indexes]
    assert indexes == list(range(total))
    assert all(len(step.indexes) == size * per_step for step in list(plan.ready)[:-1])


def test_a_job_started_before_steps_held_several_batches_keeps_one() -> None:
    job = Job("j", "v2.0", "c", "k", ("{}",), batches_per_step=4)
    data = loads_exact(job.to_json().encode())
    assert data["batchesPerStep"] == 4
    del data["batchesPerStep"]
    assert Job.from_data(data).batches_per_step == 1


def _slice(count: int, batch_size: int | None) -> str:
    ops = [Operation(i, f"id-{i}", "*", {"amount": Decimal("1.10")}) for i in range(count)]
    job = Job("j", "v2.0", "c", "k", tuple(op.as_text() for op in ops), batch_size=batch_size or 1)
    text = job.slice_json(range(count))
    if batch_size is None:  # as a job started before slices said their batch size
        data = loads_exact(text.encode())
        del data["batchSize"]
        text = dumps_exact(data).decode()
    return text


def test_a_slice_is_sent_in_batches_of_its_size() -> None:
    work = JobSlice.from_json(_slice(7, 3))
    assert [[op.index for op in batch] for batch in work.batches()] == [[0, 1, 2], [3, 4, 5], [6]]
    assert work.updates[0].changes == {"amount": Decimal("1.10")}
    # A slice without a size is one batch, as every slice was.
    assert [len(batch) for batch in JobSlice.from_json(_slice(7, None)).batches()] == [7]


def _task(result: Any) -> Any:
    return SimpleNamespace(result=result)


def test_the_orchestrator_reads_an_answer_without_parsing_its_item_results() -> None:
    results = {3: {"outcome": "updated", "status": 200, "line": {"amount": Decimal("2.50")}}}
    data = {**pack_settled(results), "resend": [4], "retryAfter": 2, "unknown": []}
    text = answer_text(dict(data))
    head, _, packed = text.partition("\n")
    assert "settled" not in loads_exact(head.encode())
    assert packed == data["settled"]  # as packed, unread
    assert _answer_of(_task(text)) == data
    # An answer recorded whole (by a job started before) reads the same.
    assert _answer_of(_task(dumps_exact(data).decode())) == data
    assert _answer_of(_task(RuntimeError("failed"))) is None


def _items(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"id-{n}",
            "clientRef": f"line\nbreak {n}",
            "outcome": "updated",
            "n": Decimal("1.0"),
        }
        for n in range(count)
    ]


def test_a_result_is_written_one_item_a_line_and_read_back_exactly() -> None:
    head = {"jobId": "j", "status": "Completed", "total": 3, "counts": {"updated": 3}}
    text = write_result(head, _items(3))
    assert loads_exact(text.encode()) == {**head, "items": _items(3)}  # plain JSON
    assert text.count("\n") == 3 + 1  # a line break inside a value is escaped
    result = JobResult.read(text)
    assert result is not None
    assert result.head == head
    assert [loads_exact(item.encode()) for item in result.items] == _items(3)


@given(st.integers(1, 40), st.integers(0, 45), st.integers(1, 12))
def test_a_page_holds_its_items_and_the_whole_counts(total: int, skip: int, top: int) -> None:
    head = {"jobId": "j", "status": "Completed", "total": total, "counts": {"updated": total}}
    result = JobResult.read(write_result(head, _items(total)))
    assert result is not None
    page = loads_exact(result.page(skip, top, {"nextLink": "x"}))
    assert page == {**head, "nextLink": "x", "items": _items(total)[skip : skip + top]}


def test_a_result_written_whole_still_pages() -> None:
    head = {"jobId": "j", "status": "Completed", "total": 2, "counts": {"updated": 2}}
    result = JobResult.read(dumps_exact({**head, "items": _items(2)}).decode())
    assert result is not None
    assert loads_exact(result.page(1, MAX_PAGE)) == {**head, "items": _items(2)[1:]}
    assert JobResult.read("[1, 2]") is None
    assert JobResult.read("not json") is None
