"""The engine of the Durable stand-in: instances in memory, on one event loop.

It plays the part of the Durable extension for the app's own registered
functions: it starts, terminates and purges instances, queues each event an
instance receives and runs one episode per event (:mod:`.replay`), starts the
activities (:mod:`.activities`) and timers the episodes schedule, and lets
tests inspect instances, wait for them and move virtual time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from funchost.durable import protocol
from funchost.durable.activities import ActivityRunner
from funchost.durable.clock import Clock, VirtualClock, WallClock
from funchost.durable.functions import durable_functions
from funchost.durable.model import (
    DurableStandInError,
    Instance,
    InstanceAlreadyExistsError,
    InstanceView,
    RuntimeStatus,
    UnknownFunctionError,
    Work,
)
from funchost.durable.protocol import EventType
from funchost.durable.replay import Replayer

logger = logging.getLogger("funchost.durable")


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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._instances: dict[str, Instance] = {}
        self._busy = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.errors: list[DurableStandInError] = []
        self._runner = ActivityRunner(
            self.activities,
            clock=self.clock,
            lock=self._lock,
            max_concurrent=max_concurrent_activities,
        )
        self._replayer = Replayer(
            self.orchestrators, self.activities, clock=self.clock, errors=self.errors, effects=self
        )

    # --- loop binding -----------------------------------------------------------

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
            self._runner.bind_loop()
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
                self.stop_work(existing)
            now = self.clock.now()
            instance = Instance(instance_id, name, input_text, created=now, last_updated=now)
            self._instances[instance_id] = instance
            started = protocol.event(
                EventType.EXECUTION_STARTED, now, Name=name, Version="", Input=input_text
            )
            self.enqueue(instance, started, None)
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
            self.stop_work(instance)
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
                self.stop_work(instance)
            self._instances.clear()
            self.errors.clear()
            self._runner.reset()
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
        return self._runner.counts()

    def lose_next_results(self, activity: str, times: int = 1) -> None:
        """See :meth:`ActivityRunner.lose_next_results`."""
        self._runner.lose_next_results(activity, times)

    def stop_work(self, instance: Instance) -> None:
        """Cancel the instance's timers and drop its queued events (lock held)."""
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
            return None if instance is None else instance.view()

    def views(self) -> list[InstanceView]:
        with self._lock:
            return [i.view() for i in self._instances.values()]

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
            view = self._instances[instance_id].view()
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
        for _ in clock.stops(seconds):
            self.wait_idle_sync(timeout_s, raise_errors=False)

    async def advance(self, seconds: float, timeout_s: float = 30.0) -> None:
        """:meth:`advance_sync` for code running on the engine's own loop."""
        for _ in self._virtual_clock().stops(seconds):
            await self.wait_idle(timeout_s, raise_errors=False)

    # --- delivery -------------------------------------------------------------------

    def enqueue(self, instance: Instance, item: dict[str, Any], work: Work | None) -> None:
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

    def _drain(self, instance: Instance) -> None:
        with self._lock:
            if not instance.inbox:
                instance.draining = False
                self._changed.notify_all()
                return
            item, work = instance.inbox.popleft()
            try:
                self._replayer.episode(instance, item, work)
            except Exception:  # pragma: no cover - a bug in the stand-in itself
                logger.exception("Durable stand-in: episode of %s failed", instance.instance_id)
                self._replayer.fail(instance, "the local Durable stand-in failed (see its log)")
            finally:
                self._busy -= 1
            if instance.inbox:
                self._call_soon(self._drain, instance)
            else:
                instance.draining = False
            self._changed.notify_all()

    # --- activities and timers ---------------------------------------------------------

    def start_activity(self, instance: Instance, work: Work) -> None:
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
                    self.start_activity(instance, work)
            self._changed.notify_all()
        return len(running)

    async def _run_activity(self, instance: Instance, work: Work) -> None:
        outcome: dict[str, Any] | None = None
        try:
            outcome = await self._runner.outcome(instance, work)
        finally:
            # Queue the result before this run stops counting as busy, so that
            # nobody sees the engine idle in between.
            with self._lock:
                instance.work.pop(work.task_id, None)
                if outcome is not None:
                    self.enqueue(instance, outcome, work)
                self._busy -= 1
                self._changed.notify_all()

    def start_timer(self, instance: Instance, work: Work) -> None:
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
                self.enqueue(instance, fired, work)

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
