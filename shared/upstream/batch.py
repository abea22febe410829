"""One Business Central ``$batch`` of payment line updates.

Each operation carries its own If-Match; the batch is sent with
``Prefer: odata.continue-on-error`` and never with ``Isolation: snapshot``,
so one bad line neither stops nor rolls back the others. Each operation's
answer becomes exactly what the same PATCH would have got alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.payment.amounts import steps_of_any_currency
from shared.payment.fields import ApiVersion
from shared.payment.refs import ForwardHeaders, PaymentRef
from shared.payment.settlement import (
    PatchOutcome,
    judge_read,
    refused,
    still_unknown,
    unreadable,
    updated,
)
from shared.process.jsonio import JsonBodyError, dumps_exact, loads_exact
from shared.process.problems import Problem
from shared.upstream.attempts import Budget, Proof, batch_proves, parse_retry_after, proves
from shared.upstream.client import BusinessCentralClient
from shared.upstream.entities import confirm_applied, json_object, normalize_entity
from shared.upstream.errors import NotSent, OutcomeLost, problem_from_upstream

CONTINUE_ON_ERROR = {"Prefer": "odata.continue-on-error"}


@dataclass(frozen=True)
class Journal:
    """The journal a bulk job updates: API version and validated ids."""

    version: ApiVersion
    company_id: str
    journal_id: str

    def line(self, payment_id: str) -> PaymentRef:
        return PaymentRef(self.version, self.company_id, self.journal_id, payment_id)


@dataclass(frozen=True)
class Operation:
    """One validated update, as a bulk job holds it and a ``$batch`` sends it:
    ``index`` is its place in the request, ``changes`` exactly what a PATCH would
    send, ``client_ref`` the caller's own label (returned, never sent upstream)."""

    index: int
    payment_id: str
    if_match: str
    changes: dict[str, Any]
    client_ref: str | None = None

    def as_text(self) -> str:
        """The update as exact JSON text, as a job's input holds it."""
        return dumps_exact(self.as_json()).decode()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "id": self.payment_id,
            "ifMatch": self.if_match,
            "changes": self.changes,
        }
        if self.client_ref is not None:
            data["clientRef"] = self.client_ref
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Operation:
        return cls(
            int(data["index"]),
            str(data["id"]),
            str(data["ifMatch"]),
            dict(data["changes"]),
            data.get("clientRef"),
        )


@dataclass(frozen=True)
class BatchAnswer:
    """How one ``$batch`` went.

    ``settled`` maps operation indexes to their final outcome. ``resend``
    lists operations Business Central did not execute (a throttled batch, or
    one that stopped at a failing operation), with the wait it asked for;
    ``unknown`` lists those whose outcome was lost and must be settled item
    by item, reading before resending.
    """

    settled: dict[int, PatchOutcome]
    resend: tuple[int, ...] = ()
    retry_after: float | None = None
    unknown: tuple[int, ...] = ()
    resend_problem: Problem | None = None


def batch_body(operations: Sequence[Operation], journal: Journal) -> dict[str, Any]:
    return {
        "requests": [
            {
                "id": str(op.index),
                "method": "PATCH",
                "url": journal.line(op.payment_id).path,
                "headers": {"Content-Type": "application/json", "If-Match": op.if_match},
                "body": op.changes,
            }
            for op in operations
        ]
    }


async def send_batch(
    bc: BusinessCentralClient,
    operations: Sequence[Operation],
    journal: Journal,
    forward: ForwardHeaders,
    budget: Budget,
) -> BatchAnswer:
    """Send one ``$batch`` once and sort every operation by what is known of it."""
    indexes = tuple(op.index for op in operations)
    body = dumps_exact(batch_body(operations, journal))
    try:
        response = await bc.send_once(
            "POST",
            f"{bc.api_root(journal.version)}/$batch",
            dataclasses.replace(forward, if_match=None),
            budget,
            body,
            CONTINUE_ON_ERROR,
            min_time=bc.settings.min_attempt_s,
        )
    except NotSent as exc:
        return BatchAnswer({}, resend=indexes, resend_problem=exc.problem)
    except OutcomeLost:
        return BatchAnswer({}, unknown=indexes)
    status = response.status_code
    proof = batch_proves(status, response.content)
    if proof is Proof.NOT_RUN:
        return BatchAnswer(
            {},
            resend=indexes,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            resend_problem=problem_from_upstream(status, response.content, if_match_sent=False),
        )
    if proof is Proof.UNSETTLED:
        # Nothing about the whole batch proves what ran: settled like a lost batch.
        return BatchAnswer({}, unknown=indexes)
    if status != 200:
        # Refused as a whole before any operation ran (the proxy's identity).
        problem = problem_from_upstream(status, response.content, if_match_sent=False)
        return BatchAnswer({index: refused(problem) for index in indexes})
    answers = _responses_by_id(json_object(response))
    if answers is None:
        return BatchAnswer({}, unknown=indexes)
    answer, confirm = _sort_operations(operations, answers)
    if confirm:
        wanted = [op for op in operations if op.index in confirm]
        answer.settled.update(await _confirm_operations(bc, wanted, journal, forward, budget))
    return answer


def _responses_by_id(data: Any) -> dict[str, dict[str, Any]] | None:
    if not isinstance(data, dict) or not isinstance(data.get("responses"), list):
        return None
    found: dict[str, dict[str, Any]] = {}
    for item in data["responses"]:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            found[item["id"]] = item
    return found


def _sort_operations(
    operations: Sequence[Operation], answers: Mapping[str, dict[str, Any]]
) -> tuple[BatchAnswer, tuple[int, ...]]:
    """Each operation's fate, and the ones applied without a readable line."""
    settled: dict[int, PatchOutcome] = {}
    confirm: list[int] = []
    resend: list[int] = []
    unknown: list[int] = []
    retry_after: float | None = None
    resend_problem: Problem | None = None
    for op in operations:
        answer, status = _answer_for(answers, op)
        if answer is None or status is None:
            # No answer for it: Business Central stopped before it (not executed).
            resend.append(op.index)
            continue
        headers = _lower(answer.get("headers"))
        content = dumps_exact(answer.get("body"))
        proof = proves(status, content)
        if proof is Proof.NOT_RUN:
            resend.append(op.index)
            wait = parse_retry_after(headers.get("retry-after"))
            retry_after = max(retry_after or 0.0, wait) if wait is not None else retry_after
            resend_problem = problem_from_upstream(status, content, if_match_sent=True)
        elif proof is Proof.UNSETTLED:
            unknown.append(op.index)
        elif 200 <= status < 300:
            body = answer.get("body")
            if isinstance(body, dict):
                settled[op.index] = updated(normalize_entity(body, headers.get("etag"))[0])
            else:
                confirm.append(op.index)
        elif status in (409, 412):
            # A changed ETag may be this very update, applied by an earlier run
            # of the same batch (activities run at least once): read first.
            unknown.append(op.index)
        else:
            settled[op.index] = refused(problem_from_upstream(status, content, if_match_sent=True))
    sorted_answer = BatchAnswer(settled, tuple(resend), retry_after, tuple(unknown), resend_problem)
    return sorted_answer, tuple(confirm)


def _answer_for(
    answers: Mapping[str, dict[str, Any]], op: Operation
) -> tuple[dict[str, Any] | None, int | None]:
    """An operation's answer in a ``$batch`` response, and its status when it has one."""
    answer = answers.get(str(op.index))
    status = answer.get("status") if answer is not None else None
    if not isinstance(status, int) or isinstance(status, bool):
        return answer, None
    return answer, status


def _lower(headers: Any) -> dict[str, str]:
    if not isinstance(headers, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


# --- settling updates whose outcome is in doubt ----------------------------------


async def settle_operations(
    bc: BusinessCentralClient,
    operations: Sequence[Operation],
    journal: Journal,
    forward: ForwardHeaders,
    budget_s: float,
) -> dict[int, PatchOutcome]:
    """Settle updates whose outcome was lost, as a batch: one ``$batch`` of
    GETs reads every line, each is decided by the read-before-resend rule,
    the ones proven not applied (and the ``*`` ones) go again in one
    ``$batch``, and any of those not applied this time is read once more and
    answered unknown (a refused resend proves nothing). Each request has a
    budget of its own; an item whose line cannot be read stays unknown."""
    decimals = bc.settings.amount_decimals
    # A bulk item's currency is not known here: an amount rounded to any reads as held.
    any_currency = steps_of_any_currency(decimals)
    reads = await read_lines(bc, operations, journal, forward, Budget(budget_s))
    settled: dict[int, PatchOutcome] = {}
    again: list[Operation] = []
    for op in operations:
        read = reads.get(op.index, _NOT_READ)
        if isinstance(read, Problem):
            settled[op.index] = unreadable(read)
            continue
        line, etag = read
        verdict = (
            None
            if op.if_match == "*"
            else judge_read(line, etag, op.if_match, op.changes, decimals, any_currency)
        )
        if verdict is None:
            again.append(op)
        else:
            settled[op.index] = verdict
    if not again:
        return settled
    answer = await send_batch(bc, again, journal, forward, Budget(budget_s))
    # Updated, or unknown with the line (a 2xx whose body was unreadable), stands.
    kept = {i: o for i, o in answer.settled.items() if o.kind != "failed"}
    settled.update(kept)
    undecided = [op for op in again if op.index not in kept]
    if undecided:
        reread = await read_lines(bc, undecided, journal, forward, Budget(budget_s))
        for op in undecided:
            read = reread.get(op.index, _NOT_READ)
            settled[op.index] = (
                unreadable(read) if isinstance(read, Problem) else still_unknown(read[0])
            )
    return settled


LineRead = tuple[dict[str, Any], str | None] | Problem
# An operation the batched read gave no answer for.
_NOT_READ = Problem("upstream-timeout", "Business Central gave no answer for this line.")


async def read_lines(
    bc: BusinessCentralClient,
    operations: Sequence[Operation],
    journal: Journal,
    forward: ForwardHeaders,
    budget: Budget,
) -> dict[int, LineRead]:
    """The operations' lines in one ``$batch`` of GETs (retried like any read):
    a line and its ETag, or the problem Business Central answered for it. An
    operation missing from the result was not read."""
    body = {
        "requests": [
            {
                "id": str(op.index),
                "method": "GET",
                "url": journal.line(op.payment_id).path,
                "headers": {},
            }
            for op in operations
        ]
    }
    url = f"{bc.api_root(journal.version)}/$batch"
    read_forward = dataclasses.replace(forward, if_match=None)
    failure: Problem | None = None
    try:
        response = await bc.read(url, read_forward, budget, dumps_exact(body), CONTINUE_ON_ERROR)
    except Problem as exc:
        failure = exc
    else:
        if response.status_code != 200:
            failure = problem_from_upstream(
                response.status_code, response.content, if_match_sent=False
            )
    if failure is not None:
        return {op.index: failure for op in operations}
    try:
        answers = _responses_by_id(loads_exact(response.content)) or {}
    except JsonBodyError:
        answers = {}
    found: dict[int, LineRead] = {}
    for op in operations:
        answer, status = _answer_for(answers, op)
        if answer is None or status is None:
            continue
        data = answer.get("body")
        if status == 200 and isinstance(data, dict):
            found[op.index] = normalize_entity(data, _lower(answer.get("headers")).get("etag"))
        elif status != 200:
            found[op.index] = problem_from_upstream(status, dumps_exact(data), if_match_sent=False)
    return found


async def _confirm_operations(
    bc: BusinessCentralClient,
    operations: Sequence[Operation],
    journal: Journal,
    forward: ForwardHeaders,
    budget: Budget,
) -> dict[int, PatchOutcome]:
    """Operations Business Central answered 2xx without a readable line: the
    write happened; read the line back to say what it holds."""

    async def one(op: Operation) -> tuple[int, PatchOutcome]:
        ref = journal.line(op.payment_id)
        op_forward = dataclasses.replace(forward, if_match=op.if_match)
        return op.index, await confirm_applied(bc, ref, op_forward, budget, op.changes)

    return dict(await asyncio.gather(*(one(op) for op in operations)))
