"""Bulk jobs at unit level: request bodies as a flow would send them, item results
as a job's activities report them, and a job of numbered updates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.bulk.job import Job
from shared.bulk.plan import pack_settled
from shared.process.jsonio import dumps_exact
from shared.process.problems import Problem
from shared.upstream.batch import Operation
from tests.support.fakes import ETAG

JSON = {"content-type": "application/json"}
IDS = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 2001)]


def body(updates: Any, **extra: Any) -> bytes:
    return dumps_exact({"updates": updates, **extra})


def update(n: int = 0, **fields: Any) -> dict[str, Any]:
    """Update ``n`` of a job: line ``IDS[n]`` to 10.5, with a specific If-Match;
    ``fields`` replace its own (None leaves one out)."""
    item: dict[str, Any] = {"id": IDS[n], "ifMatch": ETAG, "changes": {"amount": Decimal("10.5")}}
    item.update(fields)
    return {k: v for k, v in item.items() if v is not None}


# Item results as a job's activities report them, and a job of numbered updates.
DOCS = "https://docs.example.test/problems"


def problem(slug: str) -> dict[str, Any]:
    return Problem(slug, "detail").as_json(DOCS, "job")


def updated(index: int) -> dict[str, Any]:
    return {"outcome": "updated", "status": 200, "etag": f'W/"{index}"', "line": {"n": index}}


def failed(slug: str = "etag-mismatch") -> dict[str, Any]:
    body = problem(slug)
    return {"outcome": "failed", "status": body["status"], "problem": body}


def packed(results: dict[int, dict[str, Any]], **rest: Any) -> dict[str, Any]:
    """An activity's answer, packed as the activities pack it."""
    return {**pack_settled(results), **rest}


def job(total: int) -> Job:
    updates = [Operation(i, f"id-{i}", "*", {}, f"r{i}") for i in range(total)]
    items = tuple(update.as_text() for update in updates)
    return Job("job", "v2.0", "c", "j", items, docs_url=DOCS)
