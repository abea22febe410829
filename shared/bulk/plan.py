"""A bulk job's plan, pure and deterministic so that every replay of the
orchestrator decides the same: the batches in steps, a sliding window of steps
in flight, waits before a refused batch goes again, updates settled one by one
when their outcome is in doubt, a stop when Business Central refuses the proxy
itself, and every item's result so far."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.payment.settlement import UNKNOWN_OUTCOME_DETAIL
from shared.process.jsonio import dumps_exact, loads_exact
from shared.process.problems import Problem

# A throttled batch is sent at most this many more times, then its items fail.
MAX_RESENDS = 5


# Without Retry-After: 1, 2, 4, ... seconds; never longer than this.
MAX_BACKOFF_S = 60.0


# Retry-After beyond this is not waited for inside one job step.
MAX_WAIT_S = 300.0


# Business Central refuses the proxy itself: nothing more is sent for the job.
STOP_SLUGS = frozenset({"upstream-auth-failed"})


# Failures of the job rather than of its items: a job of nothing but these "Failed".
JOB_LEVEL_SLUGS = frozenset({"upstream-auth-failed", "identity-unavailable"})


def chunk(indexes: Sequence[int], size: int) -> list[tuple[int, ...]]:
    """Consecutive slices of at most ``size`` (the last one may be shorter)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [tuple(indexes[start : start + size]) for start in range(0, len(indexes), size)]


def resend_wait(retry_after: float | None, resend: int) -> float:
    """Seconds before resend number ``resend`` (1, 2, ...): what Business Central
    asked for, else a doubling backoff. Deterministic: no jitter on replay."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_WAIT_S)
    return min(2.0 ** (resend - 1), MAX_BACKOFF_S)


@dataclass(frozen=True)
class Step:
    """One unit of work holding a window slot: send a batch, wait before
    sending it again, or settle items one by one."""

    kind: Literal["send", "wait", "settle"]
    indexes: tuple[int, ...]
    resends: int = 0
    wait_s: float = 0.0


def pack_settled(results: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """An activity's item results as the orchestrator takes them: the results
    themselves as one exact JSON text (parsed once, when the job ends, not on
    every replay), beside the little the orchestrator decides on."""
    stop = next(
        (
            dict(r["problem"])
            for r in results.values()
            if isinstance(r.get("problem"), dict) and problem_slug(r["problem"]) in STOP_SLUGS
        ),
        None,
    )
    return {
        "settled": dumps_exact({str(i): r for i, r in results.items()}).decode(),
        "settledIndexes": sorted(results),
        "stopProblem": stop,
    }


@dataclass
class JobPlan:
    """The job's bookkeeping: steps ready to run, steps holding a slot, and
    every item's result so far. ``peak`` is the most slots ever held."""

    total: int
    max_in_flight: int
    docs_url: str = ""
    job_id: str = ""
    ready: deque[Step] = field(default_factory=deque)
    # Results the plan decided itself, and the packed ones activities sent.
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    packed: list[str] = field(default_factory=list)
    settled: set[int] = field(default_factory=set)
    in_flight: int = 0
    peak: int = 0
    stopped: dict[str, Any] | None = None  # the job-level problem, once one is seen
    # What the application check said of each update it checked (the latest word).
    checks: dict[int, dict[str, Any]] = field(default_factory=dict)
    # What the job cost, for its telemetry: steps scheduled, by kind.
    sends: int = 0
    resends: int = 0
    reads: int = 0
    waits: int = 0
    wait_s: float = 0.0

    @classmethod
    def start(
        cls,
        total: int,
        batch_size: int,
        max_in_flight: int,
        docs_url: str = "",
        job_id: str = "",
        batches_per_step: int = 1,
    ) -> JobPlan:
        """A send step per ``batches_per_step`` batches (its activity sends them in turn)."""
        plan = cls(total, max_in_flight, docs_url, job_id)
        step_size = batch_size * batches_per_step
        plan.ready.extend(Step("send", indexes) for indexes in chunk(range(total), step_size))
        return plan

    @property
    def done(self) -> int:
        return len(self.settled)

    @property
    def finished(self) -> bool:
        return not self.ready and self.in_flight == 0

    def take(self) -> Step | None:
        """The next step, if a slot is free: the window never holds more."""
        if self.in_flight >= self.max_in_flight or not self.ready:
            return None
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self.ready.popleft()

    def scheduled(self, step: Step) -> None:
        """Count a step as it is handed to Durable Functions."""
        if step.kind == "send":
            self.sends += 1
            if step.resends:
                self.resends += 1
        elif step.kind == "settle":
            self.reads += 1
        else:
            self.waits += 1
            self.wait_s += step.wait_s

    def release(self) -> None:
        if self.in_flight <= 0:
            raise RuntimeError("no slot is held")
        self.in_flight -= 1

    def settle(self, results: Mapping[int, dict[str, Any]]) -> None:
        """Results the plan decided itself; the first result of an item stands."""
        for index, result in results.items():
            if index not in self.settled:
                self.settled.add(index)
                self.results[index] = result

    def record(self, answer: Mapping[str, Any]) -> None:
        """An activity's packed results (see :func:`pack_settled`)."""
        text = answer.get("settled")
        if isinstance(text, str):
            self.packed.append(text)
        self.settled.update(int(i) for i in answer.get("settledIndexes", ()))
        checks = answer.get("checks")
        if isinstance(checks, dict):
            self.checks.update({int(i): dict(c) for i, c in checks.items()})
        stop = answer.get("stopProblem")
        if self.stopped is None and isinstance(stop, dict):
            self.stop(stop)

    def stop(self, problem: dict[str, Any]) -> None:
        """A job-level failure: nothing more is sent. Items never sent (or
        proven refused) get the stop's problem; items whose earlier send has
        no known outcome stay unknown, since the stop proves nothing of them."""
        self.stopped = problem
        while self.ready:
            step = self.ready.popleft()
            if step.kind == "settle":
                self.settle({index: self.lost() for index in step.indexes})
            else:
                self.settle({index: _failed(problem) for index in step.indexes})

    def final_results(self) -> dict[int, dict[str, Any]]:
        """Every item's result; an item settled twice keeps its first."""
        merged: dict[int, dict[str, Any]] = {}
        for text in self.packed:
            for key, result in loads_exact(text.encode()).items():
                merged.setdefault(int(key), result)
        for index, result in self.results.items():
            merged.setdefault(index, result)
        return merged

    def finish(self, step: Step, answer: Mapping[str, Any] | None) -> Step | None:
        """A step ended (``answer`` is None if its activity failed). Returns the
        step that takes over its slot, if any; otherwise the slot is free."""
        follow: Step | None = None
        if step.kind == "wait":
            if self.stopped is not None:
                # The timer fired after the stop: its items (refused, so not in
                # Business Central) are not sent again.
                self.settle({i: _failed(self.stopped) for i in step.indexes})
            else:
                # The timer fired: the same slot now sends the batch again.
                follow = Step("send", step.indexes, step.resends)
        elif step.kind == "settle":
            self.after_settle(step, answer or {})
        elif answer is None:
            # The activity itself failed: Business Central may have run the batch.
            self._settle_later(step.indexes)
        else:
            follow = self.after_send(step, answer)
        if follow is None:
            self.release()
        return follow

    def after_send(self, step: Step, answer: Mapping[str, Any]) -> Step | None:
        """Record a batch's answer; return the step that keeps its slot, if any
        (a wait before resending), and queue item-by-item settling."""
        self.record(answer)
        self._settle_later(tuple(int(i) for i in answer.get("unknown", ())))
        resend = tuple(int(i) for i in answer.get("resend", ()))
        if not resend:
            return None
        problem = answer.get("resendProblem")
        retry_after = _number(answer.get("retryAfter"))
        if self.stopped is not None:
            self.settle({i: _failed(self.stopped) for i in resend})
            return None
        if step.resends >= MAX_RESENDS:
            # Business Central kept refusing or skipping them: they are not in it.
            final = (
                problem
                if isinstance(problem, dict)
                else self._problem(
                    "upstream-error",
                    "Business Central did not execute this update in its batch; "
                    "nothing was changed.",
                )
            )
            self.settle({i: _failed(final) for i in resend})
            return None
        resends = step.resends + 1
        if problem is None and retry_after is None:
            # Operations Business Central skipped (it stopped at a failing one).
            return Step("send", resend, resends)
        return Step("wait", resend, resends, resend_wait(retry_after, resends))

    def _settle_later(self, unknown: tuple[int, ...]) -> None:
        """Queue a read of items whose outcome is unknown; after a stop nothing
        more runs against Business Central, so they are reported unknown."""
        if not unknown:
            return
        if self.stopped is not None:
            self.settle({i: self.lost() for i in unknown})
        else:
            self.ready.appendleft(Step("settle", unknown))

    def after_settle(self, step: Step, answer: Mapping[str, Any]) -> None:
        self.record(answer)
        # Whatever the settling could not decide stays unknown, never guessed.
        self.settle({i: self.lost() for i in step.indexes if i not in self.settled})

    def _problem(self, slug: str, detail: str) -> dict[str, Any]:
        return Problem(slug, detail).as_json(self.docs_url, self.job_id)

    def lost(self) -> dict[str, Any]:
        return {
            "outcome": "unknown",
            "status": 504,
            "problem": self._problem("upstream-timeout", UNKNOWN_OUTCOME_DETAIL),
        }


def problem_slug(problem: Mapping[str, Any]) -> str:
    kind = problem.get("type")
    return kind.rsplit("#", 1)[-1] if isinstance(kind, str) else ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _failed(problem: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "outcome": "failed",
        "status": int(problem.get("status", 502)),
        "problem": dict(problem),
    }
