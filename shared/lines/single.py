"""Read a payment line, update a payment line: the use case of the line's own
route (GET or PATCH), inside the request frame (``shared.functions.frame``),
which admits the request and renders every problem raised here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.http.admit import Admitted
from shared.http.messages import CoreResponse, json_response
from shared.http.parsing import forward_headers, prepare_update
from shared.lines.checking import check_application, check_headers
from shared.payment.refs import PaymentRef
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.upstream.attempts import Budget
from shared.upstream.client import BusinessCentralClient
from shared.upstream.entities import read_line
from shared.upstream.patch import send_patch


async def payment(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient
) -> CoreResponse:
    """GET or PATCH one customer payment line."""
    if admitted.request.method.upper() == "GET":
        return await _get(settings, bc, admitted.line, admitted)
    return await _update(settings, bc, admitted.line, admitted)


def _line_response(
    line: dict[str, Any], etag: str | None, request_id: str, extra: Mapping[str, str] = {}
) -> CoreResponse:
    return json_response(200, line, request_id, **({"ETag": etag} if etag else {}), **extra)


async def _get(
    settings: Settings, bc: BusinessCentralClient, ref: PaymentRef, admitted: Admitted
) -> CoreResponse:
    forward = forward_headers(admitted.request.headers, admitted.request_id, None)
    line, etag = await read_line(bc, ref, forward, Budget(settings.sync_budget_s))
    return _line_response(line, etag, admitted.request_id)


async def _update(
    settings: Settings, bc: BusinessCentralClient, ref: PaymentRef, admitted: Admitted
) -> CoreResponse:
    headers = admitted.request.headers
    if_match, changes = prepare_update(settings, ref, headers, admitted.request.body)
    budget = Budget(settings.sync_budget_s)
    forward = forward_headers(headers, admitted.request_id, if_match)
    # Only an update that names a customer or an invoice costs a read (one request).
    verdict = await check_application(
        settings, bc, ref, changes, forward, budget, before_patch=True
    )
    named = check_headers(verdict)
    if verdict is not None and verdict.problem is not None:
        raise verdict.problem
    steps = (verdict.precision,) if verdict is not None and verdict.precision else None
    try:
        outcome = await send_patch(bc, ref, forward, budget, changes, steps)
    except Problem as problem:
        problem.headers.update(named)
        raise
    if outcome.line is not None:
        return _line_response(outcome.line, outcome.etag, admitted.request_id, named)
    assert outcome.problem is not None
    outcome.problem.headers.update(named)
    raise outcome.problem
