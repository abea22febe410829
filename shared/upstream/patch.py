"""One PATCH of a payment line, and the answer it earns: sent, retried while
the budget allows, and, when Business Central's answer is lost, settled by
reading the line before anything is sent again.

What each answer proves is ``attempts``; what a read-back proves is
``shared.payment.settlement``. The rules are the contract's "Outcomes"
section; a ``$batch`` (``batch``) settles a lost batch with the same judgments
(``judge_read``, ``still_unknown``, ``unreadable``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from shared.payment.amounts import steps_of_any_currency
from shared.payment.refs import ForwardHeaders, PaymentRef
from shared.payment.settlement import (
    PatchOutcome,
    judge_read,
    refused,
    still_unknown,
    unknown,
    unreadable,
    updated,
)
from shared.process.jsonio import dumps_exact
from shared.process.problems import Problem
from shared.process.telemetry import note_wait
from shared.upstream.attempts import (
    NOT_SENT_RETRY,
    Budget,
    Proof,
    final_problem,
    log_attempt,
    parse_retry_after,
    proves,
)
from shared.upstream.client import BusinessCentralClient
from shared.upstream.entities import confirm_applied, normalize_line, read_line
from shared.upstream.errors import NotSent, OutcomeLost, problem_from_upstream

log = logging.getLogger(__name__)


async def send_patch(
    bc: BusinessCentralClient,
    ref: PaymentRef,
    forward: ForwardHeaders,
    budget: Budget,
    changes: dict[str, Any],
    amount_steps: Sequence[Decimal] | None = None,
) -> PatchOutcome:
    """Send one update and answer only what Business Central's replies prove.

    ``amount_steps``: the line's currency's rounding step, when the proxy knows
    it; else an amount read back is held to any currency's rounding."""
    steps = amount_steps or steps_of_any_currency(bc.settings.amount_decimals)
    attempts = _Attempts(bc, ref, forward, budget, changes, steps)
    try:
        return await attempts.run(lost_before=False)
    except Exception:
        if not attempts.sent:
            raise
        # A bug after a PATCH may have reached Business Central: the outcome is
        # unknown, and the answer must say so rather than fail bare.
        log.exception("request %s: internal error after sending the update", forward.request_id)
        return unknown()


class _Attempts:
    """The attempts of one update, and what each one proves."""

    def __init__(
        self,
        bc: BusinessCentralClient,
        ref: PaymentRef,
        forward: ForwardHeaders,
        budget: Budget,
        changes: dict[str, Any],
        amount_steps: Sequence[Decimal],
    ) -> None:
        self.bc = bc
        self.amount_steps = amount_steps
        self.ref = ref
        self.forward = forward
        self.budget = budget
        self.changes = changes
        self.settings = bc.settings
        self.in_flight = False  # an attempt is being sent right now
        self.reached = False  # some attempt reached Business Central

    @property
    def sent(self) -> bool:
        return self.in_flight or self.reached

    async def run(self, *, lost_before: bool) -> PatchOutcome:
        """Send until an answer settles the update or the budget ends.

        ``lost_before``: an earlier attempt's answer was lost and a read showed
        it was not applied; from then on, giving up means "unknown".
        """
        s = self.settings
        body = dumps_exact(self.changes)
        url = self.bc.payment_url(self.ref)
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            failure: Problem
            logged = False
            self.in_flight = True
            try:
                response = await self.bc.send_once(
                    "PATCH",
                    url,
                    self.forward,
                    self.budget,
                    body,
                    reserve=s.read_back_reserve_s,
                    min_time=s.min_attempt_s,
                )
            except NotSent as exc:
                self.in_flight = False
                outcome: object = exc.reason
                answer: Any = None
                failure = exc.problem
                retryable = exc.problem.slug in NOT_SENT_RETRY
            except OutcomeLost as exc:
                self.in_flight, self.reached = False, True
                self._log(attempt, exc.reason)
                verdict = await self.judge_lost()
                if verdict is not None:
                    return verdict
                lost_before = True
                continue
            else:
                self.in_flight, self.reached = False, True
                status = response.status_code
                outcome, answer = status, response
                if 200 <= status < 300:
                    self._log(attempt, status, response)
                    try:
                        line, _ = normalize_line(response)
                    except Problem:
                        return await self.confirm()
                    return updated(line)
                failure = problem_from_upstream(status, response.content, if_match_sent=True)
                proof = proves(status, response.content)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if proof is Proof.UNSETTLED:
                    self._log(attempt, status, response)
                    logged = True
                    verdict = await self.judge_lost()
                    if verdict is not None:
                        return verdict
                    lost_before = True
                    retryable = True
                elif proof is Proof.NOT_RUN:
                    retryable = True
                else:
                    self._log(attempt, status, response)
                    if lost_before:
                        return await self.refused_after_loss(failure)
                    return refused(failure)
            wait = self.bc.policy.wait(attempt, retry_after)
            # Another attempt keeps its own minimum and the read-back reserve.
            needed = s.read_back_reserve_s + s.min_attempt_s
            if not retryable or not self.budget.fits(wait, self.bc.policy, needed):
                if not logged:
                    self._log(attempt, outcome, answer)
                if lost_before:
                    return await self.still_unknown()
                return refused(final_problem(failure, wait))
            if not logged:
                self._log(attempt, outcome, answer, wait)
            note_wait(wait)
            await asyncio.sleep(wait)

    async def judge_lost(self) -> PatchOutcome | None:
        """Read before resend. None means "not applied: send it again"."""
        if self.forward.if_match == "*":
            return None  # writing the same values twice is harmless
        try:
            line, etag = await self._read()
        except Problem as problem:
            return unreadable(problem)
        return judge_read(
            line,
            etag,
            self.forward.if_match,
            self.changes,
            self.settings.amount_decimals,
            self.amount_steps,
        )

    async def refused_after_loss(self, failure: Problem) -> PatchOutcome:
        """An attempt refused after an earlier one's answer was lost. Whatever
        the status, code or body, the refusal says nothing about that earlier
        attempt, which may have landed, or still land: the line is read and
        the answer is the line as it is now (504 when it cannot be read).
        Only "changed since" with a specific ETag is judged by the read-before-
        resend rule, since the read can prove the line does not hold the update
        (412) as well as it can show that it does (409)."""
        try:
            line, etag = await self._read()
        except Problem as problem:
            return unreadable(problem)
        if self.forward.if_match != "*" and failure.slug == "etag-mismatch":
            verdict = judge_read(
                line, etag, self.forward.if_match, self.changes, self.settings.amount_decimals
            )
            if verdict is not None:
                return verdict
        return still_unknown(line)

    async def still_unknown(self) -> PatchOutcome:
        """An earlier attempt's outcome was lost and a later one was refused or
        failed: that refusal proves nothing about the earlier send, so answer
        with the line as it is now (or 504 when it cannot be read either)."""
        try:
            line, _ = await self._read()
        except Problem as problem:
            return unreadable(problem)
        return still_unknown(line)

    async def confirm(self) -> PatchOutcome:
        return await confirm_applied(
            self.bc, self.ref, self.forward, self.budget, self.changes, self.amount_steps
        )

    async def _read(self) -> tuple[dict[str, Any], str | None]:
        # The read-back may use what is left, the reserve included.
        forward = dataclasses.replace(self.forward, if_match=None)
        return await read_line(self.bc, self.ref, forward, self.budget)

    def _log(
        self, attempt: int, outcome: object, response: Any = None, wait: float | None = None
    ) -> None:
        log_attempt(self.forward, "PATCH", outcome, response, wait, attempt)
