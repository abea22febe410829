"""A bulk job as Durable Functions carries it: the job, the slice one activity gets,
and how many batches a step sends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.bulk.job import STEPS_PER_SLOT, Job, JobSlice, batches_per_step
from shared.bulk.plan import JobPlan, Step
from shared.process.jsonio import dumps_exact, loads_exact
from shared.upstream.batch import Operation
from tests.support.bulk import DOCS, job


def test_activity_input_holds_only_the_steps_slice() -> None:
    data = loads_exact(job(300).slice_json(Step("send", (100, 101)).indexes).encode())
    assert [item["index"] for item in data["items"]] == [100, 101]
    assert data["items"][0]["id"] == "id-100"
    assert "token" not in data
    assert data["docsUrl"] == DOCS


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
