"""The bulk job's activities: the only parts of a job that talk to Business
Central, through the same client, token provider, concurrency limit and
error mapping as a single PATCH, and the same application check.

Durable Functions runs an activity at least once, so each is safe to repeat:
every operation carries its own If-Match, and an operation whose outcome is
in doubt is settled by reading the line before anything is sent again.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from shared.bulk.job import JobSlice
from shared.bulk.plan import pack_settled
from shared.payment.settlement import PatchOutcome, refused
from shared.process import telemetry
from shared.process.jsonio import dumps_exact
from shared.upstream.application import Update, check_budget_s, check_updates, local_step
from shared.upstream.batch import BatchAnswer, send_batch, settle_operations
from shared.upstream.refs import ForwardHeaders
from shared.upstream.retries import Budget
from shared.upstream.runtime import current_settings, get_runtime

log = logging.getLogger(__name__)


def outcome_json(outcome: PatchOutcome, docs_url: str, job_id: str) -> dict[str, Any]:
    """An item's result as the job's status shows it."""
    data: dict[str, Any] = {"outcome": outcome.kind, "status": outcome.status}
    if outcome.problem is None and outcome.line is not None:
        data["etag"] = outcome.etag
        data["line"] = outcome.line
    if outcome.problem is not None:
        # An outcome-unknown problem carries ``current``, the line as it is now.
        problem = outcome.problem.as_json(docs_url, job_id)
        problem["detail"] = in_bulk_words(problem["detail"])
        data["problem"] = problem
    return data


# An item names its version in ``ifMatch``: where a single PATCH's answer says
# If-Match (the header), an item's says so the bulk way.
_IF_MATCH_HEADER = re.compile(r"\bIf-Match\b")


def in_bulk_words(detail: str) -> str:
    return _IF_MATCH_HEADER.sub("ifMatch", detail)


def settled_json(settled: Mapping[int, PatchOutcome], docs_url: str, job_id: str) -> dict[str, Any]:
    return pack_settled({i: outcome_json(o, docs_url, job_id) for i, o in settled.items()})


def answer_json(answer: BatchAnswer, docs_url: str, job_id: str) -> dict[str, Any]:
    return {
        **settled_json(answer.settled, docs_url, job_id),
        "resend": list(answer.resend),
        # Whole seconds: payloads are exact JSON, which has no binary floats.
        "retryAfter": None if answer.retry_after is None else math.ceil(answer.retry_after),
        "unknown": list(answer.unknown),
        "resendProblem": (
            answer.resend_problem.as_json(docs_url, job_id) if answer.resend_problem else None
        ),
    }


def _read(payload: str) -> tuple[JobSlice, ForwardHeaders]:
    telemetry.start_exporting()  # before the batch's calls upstream, which are traced
    work = JobSlice.from_json(payload)
    return work, ForwardHeaders(request_id=work.job_id)


def _docs_url(work: JobSlice) -> str:
    return work.docs_url or current_settings().problems_url


async def send_batch_activity(payload: str) -> str:
    """Check the updates that name a customer or an invoice (one read for them
    all), then send the others and the ones that passed in one ``$batch``; say
    what became of each."""
    work, forward = _read(payload)
    settings = current_settings()
    bc = get_runtime().bc
    journal = work.journal
    checks = await check_updates(
        bc,
        journal.version,
        journal.company_id,
        journal.journal_id,
        [Update(op.index, op.payment_id, op.changes) for op in work.updates],
        forward,
        Budget(
            check_budget_s(
                settings.sync_budget_s, settings.min_attempt_s, settings.read_back_reserve_s
            )
        ),
        local_precision=local_step(settings.amount_decimals),
    )
    # An update the check refuses is not sent: it fails with the check's problem.
    refused_now = {i: refused(v.problem) for i, v in checks.items() if v.problem is not None}
    sendable = [op for op in work.updates if op.index not in refused_now]
    budget = Budget(settings.sync_budget_s)
    answer = (
        await send_batch(bc, sendable, journal, forward, budget) if sendable else BatchAnswer({})
    )
    answer.settled.update(refused_now)
    log.info(
        "bulk job %s: batch of %d: %d checked, %d settled, %d to resend, %d to settle one by one",
        work.job_id,
        len(work.updates),
        len(checks),
        len(answer.settled),
        len(answer.resend),
        len(answer.unknown),
    )
    data = answer_json(answer, _docs_url(work), work.job_id)
    data["checks"] = {str(index): verdict.as_json() for index, verdict in checks.items()}
    return dumps_exact(data).decode()


async def settle_items_activity(payload: str) -> str:
    """Settle updates whose outcome is unknown, each by read-before-resend."""
    work, forward = _read(payload)
    budget_s = current_settings().sync_budget_s
    bc = get_runtime().bc
    settled = await settle_operations(bc, work.updates, work.journal, forward, budget_s)
    log.info("bulk job %s: settled %d updates one by one", work.job_id, len(settled))
    return dumps_exact(settled_json(settled, _docs_url(work), work.job_id)).decode()
