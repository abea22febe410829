"""Several reads in one request: GETs of a company's records (and of lines)
sent together in ``$batch`` requests of at most 100 operations, each
answered on its own.

A read's answer is the list a collection query returned, the entity a key
read returned, or the problem Business Central answered for it; when the
whole ``$batch`` fails (or its answer cannot be read), every read carries
that problem. Nothing here writes, so a read is retried like any other GET.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.payment.fields import ApiVersion
from shared.payment.refs import ForwardHeaders
from shared.process.jsonio import JsonBodyError, dumps_exact, loads_exact
from shared.process.problems import Problem
from shared.upstream.attempts import Budget
from shared.upstream.batch import CONTINUE_ON_ERROR
from shared.upstream.client import BusinessCentralClient
from shared.upstream.errors import problem_from_upstream

MAX_OPERATIONS = 100
_NO_ANSWER = "Business Central gave no answer for this read."

Answer = list[dict[str, Any]] | dict[str, Any] | Problem


@dataclass(frozen=True)
class Read:
    """One GET: ``key`` names its answer, ``path`` is under the API root (the
    ``path`` of a reference the proxy built, options included)."""

    key: str
    path: str


async def read_together(
    bc: BusinessCentralClient,
    version: ApiVersion,
    reads: Sequence[Read],
    forward: ForwardHeaders,
    budget: Budget,
) -> dict[str, Answer]:
    """Every read's answer, by key, in as few ``$batch`` requests as fit."""
    answers: dict[str, Answer] = {}
    unique = list({read.key: read for read in reads}.values())
    for start in range(0, len(unique), MAX_OPERATIONS):
        chunk = unique[start : start + MAX_OPERATIONS]
        answers.update(await _one_batch(bc, version, chunk, forward, budget))
    return answers


async def _one_batch(
    bc: BusinessCentralClient,
    version: ApiVersion,
    reads: Sequence[Read],
    forward: ForwardHeaders,
    budget: Budget,
) -> dict[str, Answer]:
    body = {
        "requests": [
            {"id": str(number), "method": "GET", "url": read.path, "headers": {}}
            for number, read in enumerate(reads)
        ]
    }
    url = f"{bc.api_root(version)}/$batch"
    read_forward = dataclasses.replace(forward, if_match=None)
    try:
        response = await bc.read(url, read_forward, budget, dumps_exact(body), CONTINUE_ON_ERROR)
    except Problem as problem:
        return {read.key: problem for read in reads}
    if response.status_code != 200:
        failed = problem_from_upstream(response.status_code, response.content, if_match_sent=False)
        return {read.key: failed for read in reads}
    try:
        data = loads_exact(response.content)
    except JsonBodyError:
        data = None
    by_id: dict[str, Any] = {}
    if isinstance(data, dict) and isinstance(data.get("responses"), list):
        by_id = {str(item.get("id")): item for item in data["responses"] if isinstance(item, dict)}
    return {read.key: _answer(by_id.get(str(number))) for number, read in enumerate(reads)}


def _answer(item: Any) -> Answer:
    if not isinstance(item, dict):
        return Problem("upstream-error", _NO_ANSWER)
    status, body = item.get("status"), item.get("body")
    if not isinstance(status, int) or isinstance(status, bool):
        return Problem("upstream-error", _NO_ANSWER)
    if status != 200:
        return problem_from_upstream(status, dumps_exact(body), if_match_sent=False)
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return [entity for entity in body["value"] if isinstance(entity, dict)]
    if isinstance(body, dict):
        return body
    return Problem("upstream-error", "Business Central answered a read with a body not in JSON.")
