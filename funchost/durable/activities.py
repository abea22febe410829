"""Running the app's activities for the Durable stand-in.

Input and output pass through the worker's own converter as JSON text; a
run's outcome is the TaskCompleted or TaskFailed event the extension would
record. Counts runs (and the most in progress at once) per activity, bounds
how many run at a time when asked to, and can lose results on purpose to act
out at-least-once delivery.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import traceback
from collections import Counter
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from funchost.durable import protocol
from funchost.durable.clock import Clock
from funchost.durable.functions import ActivityFunction
from funchost.durable.model import Instance, UnknownFunctionError, Work
from funchost.durable.protocol import EventType

logger = logging.getLogger("funchost.durable")


class ActivityRunner:
    """The app's activities, run on the engine's loop; counters under the engine's lock."""

    def __init__(
        self,
        activities: dict[str, ActivityFunction],
        *,
        clock: Clock,
        lock: threading.RLock,
        max_concurrent: int | None,
    ) -> None:
        self.activities = activities
        self._clock = clock
        self._lock = lock
        self._max_concurrent = max_concurrent
        self._semaphore: asyncio.Semaphore | None = None
        self.runs: Counter[str] = Counter()
        self.peaks: Counter[str] = Counter()
        self._running: Counter[str] = Counter()
        self._lose_results: Counter[str] = Counter()

    def bind_loop(self) -> None:
        """A fresh concurrency bound for a new event loop."""
        self._semaphore = asyncio.Semaphore(self._max_concurrent) if self._max_concurrent else None

    def counts(self) -> tuple[Counter[str], Counter[str]]:
        """Copies of (runs per activity, peak runs in progress at once per activity)."""
        with self._lock:
            return Counter(self.runs), Counter(self.peaks)

    def reset(self) -> None:
        with self._lock:
            self.runs.clear()
            self.peaks.clear()
            self._lose_results.clear()

    def lose_next_results(self, activity: str, times: int = 1) -> None:
        """The next ``times`` runs of ``activity`` do their work, but their result is
        lost (as when a worker dies before the result is recorded): the activity
        runs again, as the extension redelivers it. History shows one run."""
        if activity not in self.activities:
            raise UnknownFunctionError(f"no activity named {activity!r}")
        with self._lock:
            self._lose_results[activity] += times

    async def outcome(self, instance: Instance, work: Work) -> dict[str, Any]:
        """Run the activity of ``work`` until a result is kept; its history event."""
        assert work.activity is not None
        activity = self.activities[work.activity]
        outcome: dict[str, Any] | None = None
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
        return outcome

    async def _invoke(
        self, instance: Instance, activity: ActivityFunction, work: Work
    ) -> dict[str, Any]:
        with self._lock:
            self.runs[activity.name] += 1
            instance.activity_runs[activity.name] += 1
            self._running[activity.name] += 1
            self.peaks[activity.name] = max(self.peaks[activity.name], self._running[activity.name])
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
                self._clock.now(),
                TaskScheduledId=work.task_id,
                Result=text,
            )
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            return protocol.event(
                EventType.TASK_FAILED,
                self._clock.now(),
                TaskScheduledId=work.task_id,
                Reason=f"Activity function '{activity.name}' failed: {message}",
                Details="".join(traceback.format_exception(exc, limit=5)),
            )
        finally:
            with self._lock:
                self._running[activity.name] -= 1
