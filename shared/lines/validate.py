"""Validate only: every check a PATCH makes before it would send the update,
and nothing after. The application check always runs: an update that names a
customer or an invoice reads them as the PATCH does, and an amount is held
to the line's currency (read when the update names neither). Nothing is ever
written, so a flow can test its input without touching the books."""

from __future__ import annotations

from shared.http.admit import Admitted
from shared.http.messages import CoreResponse, json_response
from shared.http.parsing import forward_headers, prepare_update
from shared.lines.checking import check_application, check_headers, currency_of_line
from shared.payment.application import amount_fits
from shared.process.settings import Settings
from shared.upstream.attempts import Budget
from shared.upstream.client import BusinessCentralClient


async def validate(
    admitted: Admitted, settings: Settings, bc: BusinessCentralClient
) -> CoreResponse:
    """200 ``{"valid": true, "changes": ...}`` or the problem the PATCH would get."""
    ref = admitted.line
    _, changes = prepare_update(settings, ref, admitted.request.headers, admitted.request.body)
    forward = forward_headers(admitted.request.headers, admitted.request_id, None)
    budget = Budget(settings.sync_budget_s)
    verdict = await check_application(settings, bc, ref, changes, forward, budget)
    if verdict is None and "amount" in changes:
        verdict = amount_fits(await currency_of_line(settings, bc, ref, forward, budget), changes)
    if verdict is not None and verdict.problem is not None:
        raise verdict.problem
    check = verdict.as_json() if verdict is not None else {"status": "not-needed"}
    body = {"valid": True, "changes": changes, "applicationCheck": check}
    return json_response(200, body, admitted.request_id, **check_headers(verdict))
