"""A bulk request's application check when it only validates
(``validateOnly=true``): every update that names a customer or an invoice is
checked as the job would check it batch by batch, with the reads of all of
them grouped (see ``shared.upstream.application``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.bulk.request import bulk_validation_problem
from shared.http.admit import Admitted
from shared.http.parsing import forward_headers
from shared.process.problems import FieldError
from shared.process.settings import Settings
from shared.upstream.application import Update, check_updates, local_step
from shared.upstream.attempts import Budget
from shared.upstream.batch import Operation
from shared.upstream.client import BusinessCentralClient


async def check_all(
    settings: Settings,
    bc: BusinessCentralClient,
    admitted: Admitted,
    items: Sequence[Operation],
) -> dict[str, Any]:
    """validateOnly: the application check of every update that names a customer
    or an invoice (their reads grouped), as the job would check them batch by
    batch; one 422 lists every refusal under its update's path."""
    assert admitted.company_id is not None
    assert admitted.journal_id is not None
    verdicts = await check_updates(
        bc,
        admitted.version,
        admitted.company_id,
        admitted.journal_id,
        [Update(op.index, op.payment_id, op.changes) for op in items],
        forward_headers(admitted.request.headers, admitted.request_id, None),
        Budget(settings.sync_budget_s),
        local_precision=local_step(settings.amount_decimals),
    )
    refusals = [
        FieldError(f"updates[{index}].changes.{error.field}", error.code, error.message)
        for index, verdict in sorted(verdicts.items())
        if verdict.problem is not None
        for error in verdict.problem.errors
    ]
    if refusals:
        raise bulk_validation_problem(refusals)
    body: dict[str, Any] = {"valid": True, "total": len(items)}
    if verdicts:
        body["applicationCheck"] = {
            "checked": len(verdicts),
            "notMade": [
                {"index": index, **verdict.as_json()}
                for index, verdict in sorted(verdicts.items())
                if not verdict.made
            ],
        }
    return body
