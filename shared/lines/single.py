"""The use cases: read a payment line, update a payment line.

Handlers take a :class:`CoreRequest` and return a :class:`CoreResponse`; every
error is a :class:`Problem` raised on the way and rendered once, at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.http.admit import admit
from shared.http.handling import handle
from shared.http.messages import (
    CoreRequest,
    CoreResponse,
    json_response,
)
from shared.http.parsing import forward_headers, prepare_update
from shared.lines.checking import check_application, check_headers
from shared.payment.refs import PaymentRef
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.upstream.attempts import Budget
from shared.upstream.entities import read_line
from shared.upstream.patch import send_patch
from shared.upstream.runtime import get_runtime

log = logging.getLogger(__name__)


async def handle_payment(request: CoreRequest) -> CoreResponse:
    """GET or PATCH one customer payment line."""
    return await handle(request, _payment, name="payment")


async def _payment(settings: Settings, request: CoreRequest, request_id: str) -> CoreResponse:
    ref = admit(settings, request).line
    if request.method.upper() == "GET":
        return await _get(settings, ref, request.headers, request_id)
    return await _update(settings, ref, request, request_id)


def _line_response(
    line: dict[str, Any], etag: str | None, request_id: str, extra: Mapping[str, str] = {}
) -> CoreResponse:
    return json_response(200, line, request_id, **({"ETag": etag} if etag else {}), **extra)


async def _get(
    settings: Settings, ref: PaymentRef, headers: Mapping[str, str], request_id: str
) -> CoreResponse:
    forward = forward_headers(headers, request_id, None)
    line, etag = await read_line(get_runtime().bc, ref, forward, Budget(settings.sync_budget_s))
    return _line_response(line, etag, request_id)


async def _update(
    settings: Settings, ref: PaymentRef, request: CoreRequest, request_id: str
) -> CoreResponse:
    headers = request.headers
    if_match, changes = prepare_update(settings, ref, headers, request.body)
    budget = Budget(settings.sync_budget_s)
    forward = forward_headers(headers, request_id, if_match)
    # Only an update that names a customer or an invoice costs a read (one request).
    verdict = await check_application(settings, ref, changes, forward, budget, before_patch=True)
    named = check_headers(verdict)
    if verdict is not None and verdict.problem is not None:
        raise verdict.problem
    steps = (verdict.precision,) if verdict is not None and verdict.precision else None
    try:
        outcome = await send_patch(get_runtime().bc, ref, forward, budget, changes, steps)
    except Problem as problem:
        problem.headers.update(named)
        raise
    if outcome.line is not None:
        return _line_response(outcome.line, outcome.etag, request_id, named)
    assert outcome.problem is not None
    outcome.problem.headers.update(named)
    raise outcome.problem


# --- the other routes -------------------------------------------------------------
