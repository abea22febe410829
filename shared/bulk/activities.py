"""The bulk job's activities: the only parts of a job that talk to Business
Central, through the same client, token provider, concurrency limit and
error mapping as a single PATCH, and the same application check.

Durable Functions runs an activity at least once, so each is safe to repeat:
every operation carries its own If-Match, and an operation whose outcome is
in doubt is settled by reading the line before anything is sent again.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from shared.bulk.job import JobSlice
from shared.bulk.plan import STOP_SLUGS, pack_settled
from shared.payment.refs import ForwardHeaders
from shared.payment.settlement import PatchOutcome, refused
from shared.process import telemetry
from shared.process.jsonio import dumps_exact
from shared.process.settings import Settings
from shared.upstream.application import Update, check_budget_s, check_updates, local_step
from shared.upstream.attempts import Budget
from shared.upstream.batch import BatchAnswer, send_batch, settle_operations
from shared.upstream.client import BusinessCentralClient

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


def answer_text(data: dict[str, Any]) -> str:
    """An activity's result: what the orchestrator decides on, a line break, then the
    packed item results. Exact JSON holds no raw line break, so the orchestrator splits
    the packed part off unread on every replay and reads it once, when the job ends."""
    packed = str(data.pop("settled"))
    return dumps_exact(data).decode() + "\n" + packed


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


def _docs_url(work: JobSlice, settings: Settings) -> str:
    return work.docs_url or settings.problems_url


async def send_batch_activity(payload: str, settings: Settings, bc: BusinessCentralClient) -> str:
    """Send the slice's ``$batch`` requests one after another; say what became of each
    update. Before each batch, the updates that name a customer or an invoice are
    checked (one read for them all) and the ones refused are not sent. A batch
    Business Central refuses for now, or one that stops the job, ends the step: the
    updates not sent yet go back to the orchestrator with that batch's, to be sent
    after the wait (a durable timer, never a sleeping worker) or failed by the stop."""
    work, forward = _read(payload)
    journal = work.journal
    batches = work.batches()
    answers: list[BatchAnswer] = []
    checks: dict[str, Any] = {}
    for number, operations in enumerate(batches):
        verdicts = await check_updates(
            bc,
            journal.version,
            journal.company_id,
            journal.journal_id,
            [Update(op.index, op.payment_id, op.changes) for op in operations],
            forward,
            Budget(
                check_budget_s(
                    settings.sync_budget_s, settings.min_attempt_s, settings.read_back_reserve_s
                )
            ),
            local_precision=local_step(settings.amount_decimals),
        )
        checks.update((str(index), verdict.as_json()) for index, verdict in verdicts.items())
        # An update the check refuses is not sent: it fails with the check's problem.
        refused_now = {i: refused(v.problem) for i, v in verdicts.items() if v.problem is not None}
        sendable = [op for op in operations if op.index not in refused_now]
        budget = Budget(settings.sync_budget_s)
        answer = BatchAnswer({})
        if sendable:
            answer = await send_batch(bc, sendable, journal, forward, budget)
        answer.settled.update(refused_now)
        log.info(
            "bulk job %s: batch of %d: %d checked, %d settled, %d to resend, "
            "%d to settle one by one",
            work.job_id,
            len(operations),
            len(verdicts),
            len(answer.settled),
            len(answer.resend),
            len(answer.unknown),
        )
        if _ends_step(answer):
            unsent = tuple(op.index for later in batches[number + 1 :] for op in later)
            answer = dataclasses.replace(answer, resend=answer.resend + unsent)
            answers.append(answer)
            break
        answers.append(answer)
    data = answer_json(_combined(answers), _docs_url(work, settings), work.job_id)
    data["checks"] = checks
    return answer_text(data)


def _ends_step(answer: BatchAnswer) -> bool:
    """Business Central asked for a wait (429/503), or refused the proxy itself."""
    if answer.retry_after is not None or answer.resend_problem is not None:
        return True
    return any(
        outcome.problem is not None and outcome.problem.slug in STOP_SLUGS
        for outcome in answer.settled.values()
    )


def _combined(answers: list[BatchAnswer]) -> BatchAnswer:
    """A step's batches as one answer: the wait (if any) is the last batch's, since a
    wait ends the step."""
    last = answers[-1]
    settled: dict[int, PatchOutcome] = {}
    for answer in answers:
        settled.update(answer.settled)
    return BatchAnswer(
        settled,
        resend=tuple(i for answer in answers for i in answer.resend),
        retry_after=last.retry_after,
        unknown=tuple(i for answer in answers for i in answer.unknown),
        resend_problem=last.resend_problem,
    )


async def settle_items_activity(payload: str, settings: Settings, bc: BusinessCentralClient) -> str:
    """Settle updates whose outcome is unknown, each by read-before-resend."""
    work, forward = _read(payload)
    budget_s = settings.sync_budget_s
    settled = await settle_operations(bc, work.updates, work.journal, forward, budget_s)
    log.info("bulk job %s: settled %d updates one by one", work.job_id, len(settled))
    return answer_text(settled_json(settled, _docs_url(work, settings), work.job_id))
