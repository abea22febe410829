"""Replay of orchestrator episodes for the Durable stand-in.

Each episode is one call of the SDK's handle with the whole history so far;
the engine appends exactly one new event per episode (a task result or a
fired timer), which is a legal order of delivery and keeps the task ids
handed out here identical to the ones the SDK numbers (0, 1, 2... in creation
order, WhenAll/WhenAny flattened, retry timers and re-tries of
``call_activity_with_retry`` included).

On every replay the actions the orchestrator produces must repeat the ones
recorded before; if they do not, the instance fails with a clear reason and
the error is kept so that tests waiting on the engine raise it. What the
decisions set in motion (activity runs, timers, the next execution's first
event) is left to the engine, through :class:`Effects`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import azure.functions as func

from funchost.durable import protocol
from funchost.durable.clock import Clock
from funchost.durable.functions import ActivityFunction, OrchestratorFunction
from funchost.durable.model import (
    DurableStandInError,
    Instance,
    NonDeterministicOrchestrationError,
    Retry,
    RuntimeStatus,
    Work,
    text_or_none,
)
from funchost.durable.protocol import ActionType, EventType

logger = logging.getLogger("funchost.durable")


class Effects(Protocol):
    """What an episode's decisions need done; called with the engine's lock held."""

    def enqueue(self, instance: Instance, item: dict[str, Any], work: Work | None) -> None: ...

    def start_activity(self, instance: Instance, work: Work) -> None: ...

    def start_timer(self, instance: Instance, work: Work) -> None: ...

    def stop_work(self, instance: Instance) -> None: ...


class Replayer:
    """Runs episodes of the app's orchestrators and records their decisions."""

    def __init__(
        self,
        orchestrators: Mapping[str, OrchestratorFunction],
        activities: Mapping[str, ActivityFunction],
        *,
        clock: Clock,
        errors: list[DurableStandInError],
        effects: Effects,
    ) -> None:
        self.orchestrators = orchestrators
        self.activities = activities
        self.clock = clock
        self.errors = errors
        self._effects = effects

    def episode(self, instance: Instance, item: dict[str, Any], work: Work | None) -> None:
        """Deliver ``item`` (the result of ``work``, if any) and run the orchestrator."""
        now = self.clock.now()
        orchestrator = self.orchestrators[instance.name]
        history = instance.history
        history.append(protocol.event(EventType.ORCHESTRATOR_STARTED, now))
        history.append(item)
        instance.episodes += 1
        if instance.status in (RuntimeStatus.PENDING, RuntimeStatus.CONTINUED_AS_NEW):
            instance.status = RuntimeStatus.RUNNING

        # The SDK numbers the work a retried activity adds while it processes the
        # event, before the orchestrator code resumes: mirror that first.
        decisions: list[dict[str, Any]] = []
        after: list[Callable[[], None]] = []
        if work is not None and work.retry is not None:
            self._retry_decisions(instance, item, work, now, decisions, after)

        body = protocol.orchestrator_body(
            instance_id=instance.instance_id, history=history, input_text=instance.input_text
        )
        instance.largest_episode_chars = max(instance.largest_episode_chars, len(body))
        # What the worker spends on an episode (the SDK reading the history, the
        # orchestrator's replay); the history's JSON is the host's work, not counted.
        cpu_before = time.thread_time()
        try:
            try:
                answer = orchestrator.handle(func.OrchestrationContext(body))
            finally:
                instance.replay_cpu_s += time.thread_time() - cpu_before
            state = protocol.parse_state(answer)
        except Exception as exc:
            error, failed_state = protocol.split_failure(str(exc))
            if failed_state is not None:
                if not self._check_replay(instance, _actions(failed_state), complete=False):
                    return
                instance.custom_status = failed_state.get("customStatus")
            history.extend(decisions)
            history.append(protocol.event(EventType.ORCHESTRATOR_COMPLETED, now))
            self.fail(instance, f"Orchestrator function '{instance.name}' failed: {error}")
            return

        actions = _actions(state)
        if not self._check_replay(instance, actions, complete=True):
            return
        instance.custom_status = state.get("customStatus")
        new_actions = actions[len(instance.actions) :]
        instance.actions = actions
        self._cancel_timers(instance, actions)

        if state.get("isDone"):
            history.extend(decisions)
            history.append(protocol.event(EventType.ORCHESTRATOR_COMPLETED, now))
            continued = [
                a for a in new_actions if a.get("actionType") == ActionType.CONTINUE_AS_NEW
            ]
            if continued:
                self._continue_as_new(instance, continued[-1].get("input"), now)
            else:
                self._complete(instance, state.get("output"), now)
            return

        for action in protocol.atomic_actions(new_actions):
            task_id = instance.next_id
            instance.next_id += 1
            instance.atomic_ids.append(task_id)
            if not self._schedule(instance, action, task_id, now, decisions, after):
                return
        history.extend(decisions)
        history.append(protocol.event(EventType.ORCHESTRATOR_COMPLETED, now))
        instance.last_updated = now
        for start in after:
            start()

    def _retry_decisions(
        self,
        instance: Instance,
        item: dict[str, Any],
        work: Work,
        now: datetime,
        decisions: list[dict[str, Any]],
        after: list[Callable[[], None]],
    ) -> None:
        retry = work.retry
        assert retry is not None
        kind = item["EventType"]
        if kind == EventType.TASK_FAILED and work.activity is not None:
            # One timer after every failed attempt, the last one included.
            timer = Work(
                instance.next_id,
                instance.execution,
                fire_at=now + retry.interval,
                retry=retry,
                retry_of=work,
            )
            instance.next_id += 1
            decisions.append(self._timer_created(timer))
            after.append(lambda: self._effects.start_timer(instance, timer))
        elif kind == EventType.TIMER_FIRED and work.retry_of is not None:
            if retry.attempts >= retry.max_attempts:
                return  # the SDK now fails the task with the last error
            retry.attempts += 1
            again = Work(
                instance.next_id,
                instance.execution,
                activity=work.retry_of.activity,
                input_text=work.retry_of.input_text,
                retry=retry,
            )
            instance.next_id += 1
            decisions.append(self._task_scheduled(again))
            after.append(lambda: self._effects.start_activity(instance, again))

    def _schedule(
        self,
        instance: Instance,
        action: Mapping[str, Any],
        task_id: int,
        now: datetime,
        decisions: list[dict[str, Any]],
        after: list[Callable[[], None]],
    ) -> bool:
        kind = action.get("actionType")
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            name = str(action.get("functionName"))
            if name not in self.activities:
                self.fail(
                    instance,
                    f"Orchestrator function '{instance.name}' failed: The function '{name}' "
                    "doesn't exist, is disabled, or is not an activity function.",
                )
                return False
            retry: Retry | None = None
            if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
                options = action.get("retryOptions") or {}
                retry = Retry(
                    max_attempts=int(options.get("maxNumberOfAttempts", 1)),
                    interval=timedelta(
                        milliseconds=int(options.get("firstRetryIntervalInMilliseconds", 0))
                    ),
                )
            work = Work(
                task_id,
                instance.execution,
                activity=name,
                input_text=text_or_none(action.get("input")),
                retry=retry,
            )
            decisions.append(self._task_scheduled(work))
            after.append(lambda: self._effects.start_activity(instance, work))
            return True
        if kind == ActionType.CREATE_TIMER:
            fire_at = protocol.parse_timestamp(str(action.get("fireAt")))
            timer = Work(task_id, instance.execution, fire_at=fire_at)
            decisions.append(self._timer_created(timer))
            if not action.get("isCanceled"):
                after.append(lambda: self._effects.start_timer(instance, timer))
            return True
        self.fail(
            instance,
            f"Orchestrator function '{instance.name}' used {protocol.describe_action(action)}, "
            "which the local Durable stand-in does not support",
        )
        return False

    def _check_replay(
        self, instance: Instance, actions: list[dict[str, Any]], *, complete: bool
    ) -> bool:
        """Replayed actions must repeat the recorded ones; else fail loudly."""
        recorded = instance.actions
        for index, (before, now) in enumerate(zip(recorded, actions, strict=False)):
            if not protocol.same_action(before, now):
                self._nondeterministic(
                    instance,
                    f"action {index} was {protocol.describe_action(before)} and is now "
                    f"{protocol.describe_action(now)}",
                )
                return False
        if complete and len(actions) < len(recorded):
            missing = recorded[len(actions)]
            self._nondeterministic(
                instance,
                f"action {len(actions)} ({protocol.describe_action(missing)}) was not "
                "produced again",
            )
            return False
        return True

    def _nondeterministic(self, instance: Instance, detail: str) -> None:
        message = (
            f"Non-deterministic workflow detected in orchestrator '{instance.name}' "
            f"(instance {instance.instance_id}): on replay {detail}. Orchestrator code must "
            "not depend on anything that can change between replays (I/O, clocks, random "
            "values, globals)."
        )
        logger.error("%s", message)
        self.errors.append(NonDeterministicOrchestrationError(message))
        self.fail(instance, message)

    def _cancel_timers(self, instance: Instance, actions: list[dict[str, Any]]) -> None:
        for position in protocol.cancelled_timers(actions):
            if position < len(instance.atomic_ids):
                work = instance.work.get(instance.atomic_ids[position])
                if work is not None and work.cancel is not None:
                    work.cancel()
                    work.cancel = None

    # --- ends of an execution ------------------------------------------------------------

    def _complete(self, instance: Instance, output: Any, now: datetime) -> None:
        instance.history.append(
            protocol.event(
                EventType.EXECUTION_COMPLETED,
                now,
                OrchestrationStatus="Completed",
                Result=json.dumps(output),
            )
        )
        instance.status = RuntimeStatus.COMPLETED
        instance.output = output
        instance.last_updated = now
        self._effects.stop_work(instance)

    def fail(self, instance: Instance, reason: str) -> None:
        """End the execution as Failed with ``reason``."""
        now = self.clock.now()
        instance.history.append(
            protocol.event(
                EventType.EXECUTION_COMPLETED, now, OrchestrationStatus="Failed", Result=reason
            )
        )
        instance.status = RuntimeStatus.FAILED
        instance.output = reason
        instance.failure = reason
        instance.last_updated = now
        self._effects.stop_work(instance)

    def _continue_as_new(self, instance: Instance, input_text: Any, now: datetime) -> None:
        self._effects.stop_work(instance)
        instance.previous_histories.append(instance.history)
        instance.history = []
        instance.actions = []
        instance.atomic_ids = []
        instance.work = {}
        instance.next_id = 0
        instance.execution += 1
        instance.input_text = text_or_none(input_text)
        instance.status = RuntimeStatus.CONTINUED_AS_NEW
        instance.last_updated = now
        started = protocol.event(
            EventType.EXECUTION_STARTED,
            now,
            Name=instance.name,
            Version="",
            Input=instance.input_text,
        )
        self._effects.enqueue(instance, started, None)

    # --- scheduled work ---------------------------------------------------------------------

    def _task_scheduled(self, work: Work) -> dict[str, Any]:
        return protocol.event(
            EventType.TASK_SCHEDULED,
            self.clock.now(),
            work.task_id,
            Name=work.activity,
            Version="",
            Input=work.input_text,
        )

    def _timer_created(self, work: Work) -> dict[str, Any]:
        assert work.fire_at is not None
        return protocol.event(
            EventType.TIMER_CREATED,
            self.clock.now(),
            work.task_id,
            FireAt=protocol.timestamp(work.fire_at),
        )


def _actions(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Schema V2+ answers one list with every action so far; V1 one list per yield.
    return [action for group in state.get("actions") or [] for action in group]
