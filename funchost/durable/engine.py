"""The engine of the Durable stand-in: instances, episodes, activities, timers.

It plays the part of the Durable extension for the app's own registered
functions. Each orchestrator episode is one call of the SDK's handle with the
whole history so far; the engine appends exactly one new event per episode
(a task result or a fired timer), which is a legal order of delivery and keeps
the task ids the engine hands out identical to the ones the SDK numbers
(0, 1, 2... in creation order, WhenAll/WhenAny flattened, retry timers and
re-tries of ``call_activity_with_retry`` included).

On every replay the actions the orchestrator produces must repeat the ones
recorded before; if they do not, the instance fails with a clear reason and
the error is kept so that tests waiting on the engine raise it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from funchost.durable import protocol
from funchost.durable.clock import Cancel, Clock, VirtualClock, WallClock
from funchost.durable.protocol import ActionType, EventType

logger = logging.getLogger("funchost.durable")

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
DURABLE_CLIENT = "durableClient"
DEFAULT_TASK_HUB = "TestHubName"


class RuntimeStatus(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATED = "Terminated"

    @property
    def is_terminal(self) -> bool:
        return self in (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED)


class DurableStandInError(Exception):
    """Something the real extension would refuse or report as a broken orchestration."""


class NonDeterministicOrchestrationError(DurableStandInError):
    """On replay an orchestrator did not repeat the actions it took before."""


class InstanceAlreadyExistsError(DurableStandInError):
    """Starting an instance id that is still Pending or Running."""


class UnknownFunctionError(DurableStandInError):
    """An orchestrator or activity name the app does not register."""


# --- the app's durable functions ------------------------------------------------


@dataclass(frozen=True)
class OrchestratorFunction:
    name: str
    handle: Callable[[func.OrchestrationContext], str] = field(repr=False)


@dataclass(frozen=True)
class ActivityFunction:
    name: str
    input_arg: str
    user_function: Callable[..., Any] = field(repr=False)


def _trigger_type(function: Any) -> str:
    trigger = function.get_trigger()
    return str(getattr(trigger, "type", "")) if trigger is not None else ""


def durable_functions(
    indexed: Iterable[Any],
) -> tuple[dict[str, OrchestratorFunction], dict[str, ActivityFunction]]:
    """The orchestrators and activities among an app's indexed functions, by name.

    The name is the trigger's ``orchestration``/``activity`` setting when given,
    else the function name, as the extension registers them.
    """
    orchestrators: dict[str, OrchestratorFunction] = {}
    activities: dict[str, ActivityFunction] = {}
    for function in indexed:
        kind = _trigger_type(function)
        trigger = function.get_trigger()
        if kind == ORCHESTRATION_TRIGGER:
            name = str(getattr(trigger, "orchestration", None) or function.get_function_name())
            orchestrators[name] = OrchestratorFunction(name, function.get_user_function())
        elif kind == ACTIVITY_TRIGGER:
            name = str(getattr(trigger, "activity", None) or function.get_function_name())
            activities[name] = ActivityFunction(
                name, str(trigger.name), function.get_user_function()
            )
    return orchestrators, activities


# --- instances --------------------------------------------------------------------


@dataclass
class _Retry:
    max_attempts: int
    interval: timedelta
    attempts: int = 1


@dataclass
class _Work:
    """One scheduled task: an activity run or a timer."""

    task_id: int
    execution: int
    activity: str | None = None
    input_text: str | None = None
    fire_at: datetime | None = None
    retry: _Retry | None = None
    retry_of: _Work | None = None  # for a retry timer: the activity it re-runs
    cancel: Cancel | None = None
    run: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass
class _Instance:
    instance_id: str
    name: str
    input_text: str | None
    created: datetime
    status: RuntimeStatus = RuntimeStatus.PENDING
    last_updated: datetime | None = None
    output: Any = None
    custom_status: Any = None
    failure: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    previous_histories: list[list[dict[str, Any]]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    atomic_ids: list[int] = field(default_factory=list)
    next_id: int = 0
    execution: int = 0
    work: dict[int, _Work] = field(default_factory=dict)
    inbox: deque[tuple[dict[str, Any], _Work | None]] = field(default_factory=deque)
    draining: bool = False
    episodes: int = 0
    activity_runs: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class InstanceView:
    """A snapshot of one instance, for tests and the status webhook."""

    instance_id: str
    name: str
    status: RuntimeStatus
    input_text: str | None
    output: Any
    custom_status: Any
    failure: str | None
    created: datetime
    last_updated: datetime
    history: list[dict[str, Any]]
    previous_histories: list[list[dict[str, Any]]]
    episodes: int
    activity_runs: Counter[str]
    pending_timers: list[datetime]

    def events(self, kind: EventType) -> list[dict[str, Any]]:
        """This execution's history events of one type."""
        return [e for e in self.history if e["EventType"] == kind]

    def status_json(self, *, show_input: bool = True, show_history: bool = False) -> dict[str, Any]:
        """The body of ``GET instances/{id}`` as the extension answers it."""
        body: dict[str, Any] = {
            "name": self.name,
            "instanceId": self.instance_id,
            "runtimeStatus": self.status.value,
            "input": self.input_text if show_input else None,
            "customStatus": self.custom_status,
            "output": self.output,
            "createdTime": protocol.status_time(self.created),
            "lastUpdatedTime": protocol.status_time(self.last_updated),
        }
        if show_history:
            body["historyEvents"] = [_public_event(e) for e in self.history]
        return body


def _public_event(item: Mapping[str, Any]) -> dict[str, Any]:
    try:
        kind = EventType(item["EventType"]).name.title().replace("_", "")
    except ValueError:
        kind = str(item["EventType"])
    public = {k: v for k, v in item.items() if k not in ("EventType", "IsPlayed")}
    return {"EventType": kind, **public}


# --- the engine -----------------------------------------------------------------------


class DurableEngine:
    """Instances in memory, driven through the SDK on one event loop.

    Every method that changes state runs on the engine's loop (the local
    host's); the inspection and waiting methods are safe from any thread.
    """

    def __init__(
        self,
        indexed: Iterable[Any],
        *,
        clock: Clock | None = None,
        max_concurrent_activities: int | None = None,
    ) -> None:
        self.orchestrators, self.activities = durable_functions(indexed)
        self.clock: Clock = clock if clock is not None else WallClock()
        self._max_activities = max_concurrent_activities
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._instances: dict[str, _Instance] = {}
        self._busy = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.errors: list[DurableStandInError] = []
        self.activity_runs: Counter[str] = Counter()
        self.activity_peaks: Counter[str] = Counter()
        self._activity_running: Counter[str] = Counter()
        self._lose_results: Counter[str] = Counter()

    # --- loop binding -----------------------------------------------------------

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
            self._semaphore = (
                asyncio.Semaphore(self._max_activities) if self._max_activities else None
            )
        elif self._loop is not loop:
            raise RuntimeError("the Durable stand-in is already running on another event loop")
        return loop

    def _call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(callback, *args)

    # --- starting and managing instances -------------------------------------

    def start(self, name: str, input_text: str | None, instance_id: str | None = None) -> str:
        """Create an instance (Pending) and queue its first episode; returns its id.

        ``input_text`` is the input as JSON text, as the client sends it.
        """
        self._bind_loop()
        if name not in self.orchestrators:
            raise UnknownFunctionError(
                f"The function '{name}' doesn't exist, is disabled, or is not an "
                "orchestrator function."
            )
        instance_id = instance_id or uuid.uuid4().hex
        with self._lock:
            existing = self._instances.get(instance_id)
            if existing is not None and not existing.status.is_terminal:
                raise InstanceAlreadyExistsError(
                    f"An Orchestration instance with the status {existing.status.value} "
                    "already exists."
                )
            if existing is not None:
                self._stop_work(existing)
            now = self.clock.now()
            instance = _Instance(instance_id, name, input_text, created=now, last_updated=now)
            self._instances[instance_id] = instance
            started = protocol.event(
                EventType.EXECUTION_STARTED, now, Name=name, Version="", Input=input_text
            )
            self._enqueue(instance, started, None)
        return instance_id

    def terminate(self, instance_id: str, reason: str) -> bool | None:
        """True if terminated, False if it had already finished, None if unknown."""
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None:
                return None
            if instance.status.is_terminal:
                return False
            now = self.clock.now()
            instance.history.append(
                protocol.event(EventType.EXECUTION_TERMINATED, now, Input=json.dumps(reason))
            )
            instance.status = RuntimeStatus.TERMINATED
            instance.output = reason
            instance.last_updated = now
            self._stop_work(instance)
            self._changed.notify_all()
            return True

    def purge(self, instance_id: str) -> bool:
        """Forget a finished instance; False if unknown or still running."""
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None or not instance.status.is_terminal:
                return False
            del self._instances[instance_id]
            self._changed.notify_all()
            return True

    def reset(self) -> None:
        """Forget every instance, error and count (running activities finish unheard)."""
        with self._lock:
            for instance in self._instances.values():
                self._stop_work(instance)
            self._instances.clear()
            self.errors.clear()
            self.activity_runs.clear()
            self.activity_peaks.clear()
            self._lose_results.clear()
            self._changed.notify_all()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the engine runs on (None before its host starts)."""
        return self._loop

    def bind_to_running_loop(self) -> None:
        """Run on the current event loop from now on (the local host's, at startup)."""
        self._bind_loop()

    def activity_counts(self) -> tuple[Counter[str], Counter[str]]:
        """Copies of (runs per activity, peak runs in progress at once per activity)."""
        with self._lock:
            return Counter(self.activity_runs), Counter(self.activity_peaks)

    def lose_next_results(self, activity: str, times: int = 1) -> None:
        """The next ``times`` runs of ``activity`` do their work, but their result is
        lost (as when a worker dies before the result is recorded): the engine runs
        the activity again, as the extension redelivers it. History shows one run."""
        if activity not in self.activities:
            raise UnknownFunctionError(f"no activity named {activity!r}")
        with self._lock:
            self._lose_results[activity] += times

    def _stop_work(self, instance: _Instance) -> None:
        for work in instance.work.values():
            if work.cancel is not None:
                work.cancel()
                work.cancel = None
        dropped = len(instance.inbox)
        instance.inbox.clear()
        self._busy -= dropped

    # --- inspection ---------------------------------------------------------------

    def view(self, instance_id: str) -> InstanceView | None:
        with self._lock:
            instance = self._instances.get(instance_id)
            return None if instance is None else self._view(instance)

    def views(self) -> list[InstanceView]:
        with self._lock:
            return [self._view(i) for i in self._instances.values()]

    def _view(self, instance: _Instance) -> InstanceView:
        timers = sorted(
            w.fire_at
            for w in instance.work.values()
            if w.fire_at is not None and w.cancel is not None
        )
        return InstanceView(
            instance_id=instance.instance_id,
            name=instance.name,
            status=instance.status,
            input_text=instance.input_text,
            output=instance.output,
            custom_status=instance.custom_status,
            failure=instance.failure,
            created=instance.created,
            last_updated=instance.last_updated or instance.created,
            history=[dict(e) for e in instance.history],
            previous_histories=[[dict(e) for e in h] for h in instance.previous_histories],
            episodes=instance.episodes,
            activity_runs=Counter(instance.activity_runs),
            pending_timers=timers,
        )

    # --- waiting --------------------------------------------------------------------

    def _raise_errors(self) -> None:
        if self.errors:
            raise self.errors[0]

    def wait_idle_sync(self, timeout_s: float = 30.0, *, raise_errors: bool = True) -> None:
        """Block until no episode, activity or due timer is outstanding.

        Instances may still wait on timers that have not come due. Raises the
        first orchestration error (e.g. non-determinism) the engine recorded.
        """
        with self._lock:
            if not self._changed.wait_for(lambda: self._busy == 0, timeout_s):
                raise TimeoutError(f"the Durable stand-in was still busy after {timeout_s}s")
        if raise_errors:
            self._raise_errors()

    def wait_done_sync(
        self, instance_id: str, timeout_s: float = 30.0, *, raise_errors: bool = True
    ) -> InstanceView:
        """Block until the instance is Completed, Failed or Terminated."""

        def done() -> bool:
            instance = self._instances.get(instance_id)
            return instance is not None and instance.status.is_terminal

        with self._lock:
            if not self._changed.wait_for(done, timeout_s):
                raise TimeoutError(f"instance {instance_id!r} did not finish within {timeout_s}s")
            view = self._view(self._instances[instance_id])
        if raise_errors:
            self._raise_errors()
        return view

    async def wait_idle(self, timeout_s: float = 30.0, *, raise_errors: bool = True) -> None:
        await asyncio.to_thread(self.wait_idle_sync, timeout_s, raise_errors=raise_errors)

    async def wait_done(
        self, instance_id: str, timeout_s: float = 30.0, *, raise_errors: bool = True
    ) -> InstanceView:
        return await asyncio.to_thread(
            self.wait_done_sync, instance_id, timeout_s, raise_errors=raise_errors
        )

    def _virtual_clock(self) -> VirtualClock:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("advancing time needs the stand-in to run on a VirtualClock")
        return self.clock

    def advance_sync(self, seconds: float, timeout_s: float = 30.0) -> None:
        """Let ``seconds`` of virtual time pass, as they would for a real host.

        Time moves from one due timer to the next, and the engine settles
        (episodes, activities) at each stop, so a timer an orchestrator sets
        while the time passes fires too if it is due before the end. Call it
        from a thread other than the engine's loop (use :meth:`advance` there).
        """
        clock = self._virtual_clock()
        loop = self._loop
        if loop is not None and loop.is_running() and _on_loop_thread(loop):
            raise RuntimeError("on the stand-in's own event loop, use `await advance(...)`")
        target = clock.now() + timedelta(seconds=seconds)
        while True:
            self.wait_idle_sync(timeout_s, raise_errors=False)
            due = clock.next_due()
            if due is None or due > target:
                clock.advance_to(target)
                self.wait_idle_sync(timeout_s, raise_errors=False)
                return
            clock.advance_to(due)

    async def advance(self, seconds: float, timeout_s: float = 30.0) -> None:
        """:meth:`advance_sync` for code running on the engine's own loop."""
        clock = self._virtual_clock()
        target = clock.now() + timedelta(seconds=seconds)
        while True:
            await self.wait_idle(timeout_s, raise_errors=False)
            due = clock.next_due()
            if due is None or due > target:
                clock.advance_to(target)
                await self.wait_idle(timeout_s, raise_errors=False)
                return
            clock.advance_to(due)

    # --- delivery -------------------------------------------------------------------

    def _enqueue(self, instance: _Instance, item: dict[str, Any], work: _Work | None) -> None:
        """Queue one event for the instance (lock held); its episode runs on the loop."""
        if self._instances.get(instance.instance_id) is not instance:
            return
        if instance.status.is_terminal:
            return
        if work is not None and work.execution != instance.execution:
            return  # a result for an execution that continued as new
        instance.inbox.append((item, work))
        self._busy += 1
        if not instance.draining:
            instance.draining = True
            self._call_soon(self._drain, instance)
        self._changed.notify_all()

    def _drain(self, instance: _Instance) -> None:
        with self._lock:
            if not instance.inbox:
                instance.draining = False
                self._changed.notify_all()
                return
            item, work = instance.inbox.popleft()
            try:
                self._episode(instance, item, work)
            except Exception:  # pragma: no cover - a bug in the stand-in itself
                logger.exception("Durable stand-in: episode of %s failed", instance.instance_id)
                self._fail(instance, "the local Durable stand-in failed (see its log)")
            finally:
                self._busy -= 1
            if instance.inbox:
                self._call_soon(self._drain, instance)
            else:
                instance.draining = False
            self._changed.notify_all()

    # --- one episode ------------------------------------------------------------------

    def _episode(self, instance: _Instance, item: dict[str, Any], work: _Work | None) -> None:
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
        try:
            state = protocol.parse_state(orchestrator.handle(func.OrchestrationContext(body)))
        except Exception as exc:
            error, failed_state = protocol.split_failure(str(exc))
            if failed_state is not None:
                if not self._check_replay(instance, _actions(failed_state), complete=False):
                    return
                instance.custom_status = failed_state.get("customStatus")
            history.extend(decisions)
            history.append(protocol.event(EventType.ORCHESTRATOR_COMPLETED, now))
            self._fail(instance, f"Orchestrator function '{instance.name}' failed: {error}")
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
        instance: _Instance,
        item: dict[str, Any],
        work: _Work,
        now: datetime,
        decisions: list[dict[str, Any]],
        after: list[Callable[[], None]],
    ) -> None:
        retry = work.retry
        assert retry is not None
        kind = item["EventType"]
        if kind == EventType.TASK_FAILED and work.activity is not None:
            # One timer after every failed attempt, the last one included.
            timer = _Work(
                instance.next_id,
                instance.execution,
                fire_at=now + retry.interval,
                retry=retry,
                retry_of=work,
            )
            instance.next_id += 1
            decisions.append(self._timer_created(timer))
            after.append(lambda: self._start_timer(instance, timer))
        elif kind == EventType.TIMER_FIRED and work.retry_of is not None:
            if retry.attempts >= retry.max_attempts:
                return  # the SDK now fails the task with the last error
            retry.attempts += 1
            again = _Work(
                instance.next_id,
                instance.execution,
                activity=work.retry_of.activity,
                input_text=work.retry_of.input_text,
                retry=retry,
            )
            instance.next_id += 1
            decisions.append(self._task_scheduled(again))
            after.append(lambda: self._start_activity(instance, again))

    def _schedule(
        self,
        instance: _Instance,
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
                self._fail(
                    instance,
                    f"Orchestrator function '{instance.name}' failed: The function '{name}' "
                    "doesn't exist, is disabled, or is not an activity function.",
                )
                return False
            retry: _Retry | None = None
            if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
                options = action.get("retryOptions") or {}
                retry = _Retry(
                    max_attempts=int(options.get("maxNumberOfAttempts", 1)),
                    interval=timedelta(
                        milliseconds=int(options.get("firstRetryIntervalInMilliseconds", 0))
                    ),
                )
            work = _Work(
                task_id,
                instance.execution,
                activity=name,
                input_text=_text_or_none(action.get("input")),
                retry=retry,
            )
            decisions.append(self._task_scheduled(work))
            after.append(lambda: self._start_activity(instance, work))
            return True
        if kind == ActionType.CREATE_TIMER:
            fire_at = protocol.parse_timestamp(str(action.get("fireAt")))
            timer = _Work(task_id, instance.execution, fire_at=fire_at)
            decisions.append(self._timer_created(timer))
            if not action.get("isCanceled"):
                after.append(lambda: self._start_timer(instance, timer))
            return True
        self._fail(
            instance,
            f"Orchestrator function '{instance.name}' used {protocol.describe_action(action)}, "
            "which the local Durable stand-in does not support",
        )
        return False

    def _check_replay(
        self, instance: _Instance, actions: list[dict[str, Any]], *, complete: bool
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

    def _nondeterministic(self, instance: _Instance, detail: str) -> None:
        message = (
            f"Non-deterministic workflow detected in orchestrator '{instance.name}' "
            f"(instance {instance.instance_id}): on replay {detail}. Orchestrator code must "
            "not depend on anything that can change between replays (I/O, clocks, random "
            "values, globals)."
        )
        logger.error("%s", message)
        self.errors.append(NonDeterministicOrchestrationError(message))
        self._fail(instance, message)

    def _cancel_timers(self, instance: _Instance, actions: list[dict[str, Any]]) -> None:
        for position in protocol.cancelled_timers(actions):
            if position < len(instance.atomic_ids):
                work = instance.work.get(instance.atomic_ids[position])
                if work is not None and work.cancel is not None:
                    work.cancel()
                    work.cancel = None

    # --- ends of an execution ------------------------------------------------------------

    def _complete(self, instance: _Instance, output: Any, now: datetime) -> None:
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
        self._stop_work(instance)

    def _fail(self, instance: _Instance, reason: str) -> None:
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
        self._stop_work(instance)

    def _continue_as_new(self, instance: _Instance, input_text: Any, now: datetime) -> None:
        self._stop_work(instance)
        instance.previous_histories.append(instance.history)
        instance.history = []
        instance.actions = []
        instance.atomic_ids = []
        instance.work = {}
        instance.next_id = 0
        instance.execution += 1
        instance.input_text = _text_or_none(input_text)
        instance.status = RuntimeStatus.CONTINUED_AS_NEW
        instance.last_updated = now
        started = protocol.event(
            EventType.EXECUTION_STARTED,
            now,
            Name=instance.name,
            Version="",
            Input=instance.input_text,
        )
        self._enqueue(instance, started, None)

    # --- activities and timers --------------------------------------------------------------

    def _task_scheduled(self, work: _Work) -> dict[str, Any]:
        return protocol.event(
            EventType.TASK_SCHEDULED,
            self.clock.now(),
            work.task_id,
            Name=work.activity,
            Version="",
            Input=work.input_text,
        )

    def _timer_created(self, work: _Work) -> dict[str, Any]:
        assert work.fire_at is not None
        return protocol.event(
            EventType.TIMER_CREATED,
            self.clock.now(),
            work.task_id,
            FireAt=protocol.timestamp(work.fire_at),
        )

    def _start_activity(self, instance: _Instance, work: _Work) -> None:
        instance.work[work.task_id] = work
        self._busy += 1
        loop = self._loop
        assert loop is not None
        task = loop.create_task(self._run_activity(instance, work))
        work.run = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def restart(self) -> int:
        """Act out a restart of the function app: every activity in progress is
        killed (its result never arrives) and, as the extension redelivers its
        message, runs again from the start. Histories, timers and queued results
        survive, as they do in the task hub's storage. Returns how many activities
        were restarted."""
        self._bind_loop()
        with self._lock:
            running = [
                (instance, work)
                for instance in self._instances.values()
                if not instance.status.is_terminal
                for work in instance.work.values()
                if work.run is not None and not work.run.done()
            ]
            for _, work in running:
                assert work.run is not None
                work.run.cancel()
        await asyncio.gather(*(w.run for _, w in running if w.run), return_exceptions=True)
        with self._lock:
            for instance, work in running:
                if self._instances.get(instance.instance_id) is instance:
                    self._start_activity(instance, work)
            self._changed.notify_all()
        return len(running)

    async def _run_activity(self, instance: _Instance, work: _Work) -> None:
        assert work.activity is not None
        activity = self.activities[work.activity]
        outcome: dict[str, Any] | None = None
        try:
            while outcome is None:
                if self._semaphore is not None:
                    async with self._semaphore:
                        outcome = await self._invoke(instance, activity, work)
                else:
                    outcome = await self._invoke(instance, activity, work)
                with self._lock:
                    if self._lose_results[activity.name] > 0:
                        self._lose_results[activity.name] -= 1
                        logger.info("Durable stand-in: lost a result of %s", activity.name)
                        outcome = None
        finally:
            # Queue the result before this run stops counting as busy, so that
            # nobody sees the engine idle in between.
            with self._lock:
                instance.work.pop(work.task_id, None)
                if outcome is not None:
                    self._enqueue(instance, outcome, work)
                self._busy -= 1
                self._changed.notify_all()

    async def _invoke(
        self, instance: _Instance, activity: ActivityFunction, work: _Work
    ) -> dict[str, Any]:
        with self._lock:
            self.activity_runs[activity.name] += 1
            instance.activity_runs[activity.name] += 1
            self._activity_running[activity.name] += 1
            running = self._activity_running[activity.name]
            self.activity_peaks[activity.name] = max(self.activity_peaks[activity.name], running)
        try:
            # Input and output pass through the worker's own converter, as JSON text.
            argument = ActivityTriggerConverter.decode(
                meta.Datum(work.input_text, "json"), trigger_metadata=None
            )
            target = activity.user_function
            kwargs = {activity.input_arg: argument}
            if inspect.iscoroutinefunction(target):
                result = await target(**kwargs)
            else:
                result = await asyncio.to_thread(target, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            text = ActivityTriggerConverter.encode(result, expected_type=None).value
            return protocol.event(
                EventType.TASK_COMPLETED,
                self.clock.now(),
                TaskScheduledId=work.task_id,
                Result=text,
            )
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            return protocol.event(
                EventType.TASK_FAILED,
                self.clock.now(),
                TaskScheduledId=work.task_id,
                Reason=f"Activity function '{activity.name}' failed: {message}",
                Details="".join(traceback.format_exception(exc, limit=5)),
            )
        finally:
            with self._lock:
                self._activity_running[activity.name] -= 1

    def _start_timer(self, instance: _Instance, work: _Work) -> None:
        assert work.fire_at is not None
        instance.work[work.task_id] = work
        fire_at = work.fire_at

        def due() -> None:
            # Runs in the clock's thread: queue the event before advance() returns.
            with self._lock:
                if work.cancel is None:
                    return
                work.cancel = None
                instance.work.pop(work.task_id, None)
                fired = protocol.event(
                    EventType.TIMER_FIRED,
                    fire_at,
                    TimerId=work.task_id,
                    FireAt=protocol.timestamp(fire_at),
                )
                self._enqueue(instance, fired, work)

        work.cancel = self.clock.call_at(fire_at, due)

    # --- shutdown -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Cancel running activities and timers (instances stay inspectable)."""
        with self._lock:
            for instance in self._instances.values():
                for work in instance.work.values():
                    if work.cancel is not None:
                        work.cancel()
                        work.cancel = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _actions(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Schema V2+ answers one list with every action so far; V1 one list per yield.
    return [action for group in state.get("actions") or [] for action in group]


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)
