"""What the Durable stand-in keeps of an orchestration: instances, their
scheduled work and history, the snapshots tests and the status webhook read,
and the errors it reports."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from funchost.durable import protocol
from funchost.durable.clock import Cancel
from funchost.durable.protocol import EventType


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


# --- instances --------------------------------------------------------------------


@dataclass
class Retry:
    max_attempts: int
    interval: timedelta
    attempts: int = 1


@dataclass
class Work:
    """One scheduled task: an activity run or a timer."""

    task_id: int
    execution: int
    activity: str | None = None
    input_text: str | None = None
    fire_at: datetime | None = None
    retry: Retry | None = None
    retry_of: Work | None = None  # for a retry timer: the activity it re-runs
    cancel: Cancel | None = None
    run: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass
class Instance:
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
    work: dict[int, Work] = field(default_factory=dict)
    inbox: deque[tuple[dict[str, Any], Work | None]] = field(default_factory=deque)
    draining: bool = False
    episodes: int = 0
    # The worker's CPU over all episodes, and the largest body one was handed.
    replay_cpu_s: float = 0.0
    largest_episode_chars: int = 0
    activity_runs: Counter[str] = field(default_factory=Counter)

    def view(self) -> InstanceView:
        """A snapshot that later changes to the instance leave as it is."""
        timers = sorted(
            w.fire_at for w in self.work.values() if w.fire_at is not None and w.cancel is not None
        )
        return InstanceView(
            instance_id=self.instance_id,
            name=self.name,
            status=self.status,
            input_text=self.input_text,
            output=self.output,
            custom_status=self.custom_status,
            failure=self.failure,
            created=self.created,
            last_updated=self.last_updated or self.created,
            history=[dict(e) for e in self.history],
            previous_histories=[[dict(e) for e in h] for h in self.previous_histories],
            episodes=self.episodes,
            replay_cpu_s=self.replay_cpu_s,
            largest_episode_chars=self.largest_episode_chars,
            activity_runs=Counter(self.activity_runs),
            pending_timers=timers,
        )


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
    replay_cpu_s: float = 0.0
    largest_episode_chars: int = 0

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


def text_or_none(value: Any) -> str | None:
    """A value the SDK hands over as JSON text (None stays None)."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)
