"""A finished job's result: written one item a line, read back exactly, and paged
with the whole job's counts; a result written whole still pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.bulk.results import MAX_PAGE, JobResult, write_result
from shared.process.jsonio import dumps_exact, loads_exact


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
