"""The wire format between the Durable extension and the Python SDK.

History events as the extension sends them to an orchestrator (PascalCase
keys, ``EventType`` numbers), the orchestrator invocation body, and the
actions the SDK answers with. Only what the 1.x SDK reads is produced.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13


class ActionType(IntEnum):
    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


COMPOUND_ACTIONS = (ActionType.WHEN_ANY, ActionType.WHEN_ALL)


def timestamp(moment: datetime) -> str:
    """The extension's event timestamp format (UTC, microseconds, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def status_time(moment: datetime) -> str:
    """The format of ``createdTime``/``lastUpdatedTime`` in instance statuses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": timestamp(at),
        **fields,
    }


def orchestrator_body(
    *,
    instance_id: str,
    history: Sequence[Mapping[str, Any]],
    input_text: str | None,
) -> str:
    """The JSON the orchestration trigger hands the SDK for one episode.

    Events before the episode's OrchestratorStarted are marked as played, as
    the extension does; the SDK uses that for ``is_replaying``.
    """
    starts = [i for i, e in enumerate(history) if e["EventType"] == EventType.ORCHESTRATOR_STARTED]
    boundary = starts[-1] if starts else 0
    events = []
    for index, item in enumerate(history):
        copied = dict(item)
        copied["IsPlayed"] = index < boundary
        events.append(copied)
    body = {
        "history": events,
        "input": input_text,
        "instanceId": instance_id,
        "isReplaying": boundary > 0,
        "parentInstanceId": None,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 3,
        "maximumShortTimerDuration": "6.00:00:00",
        "longRunningTimerIntervalDuration": "3.00:00:00",
    }
    return json.dumps(body)


def atomic_actions(actions: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Actions in the order the SDK numbers their tasks: compound ones flattened.

    The SDK already leaves out of a WhenAll/WhenAny the children that were
    scheduled before, so what remains here is new work, in creation order.
    """
    for action in actions:
        if action.get("actionType") in COMPOUND_ACTIONS:
            yield from atomic_actions(action.get("compoundActions") or [])
        else:
            yield action


def _comparable(action: Any) -> Any:
    # A timer the orchestrator cancelled later shows isCanceled: true on replay;
    # that is a legal change, not a different action.
    value = copy.deepcopy(action)
    if isinstance(value, dict):
        value.pop("isCanceled", None)
        if "compoundActions" in value:
            value["compoundActions"] = [_comparable(a) for a in value["compoundActions"] or []]
    return value


def same_action(recorded: Mapping[str, Any], replayed: Mapping[str, Any]) -> bool:
    return bool(_comparable(recorded) == _comparable(replayed))


def cancelled_timers(actions: Sequence[Mapping[str, Any]]) -> list[int]:
    """Positions (in :func:`atomic_actions` order) of timers marked cancelled."""
    return [
        index
        for index, action in enumerate(atomic_actions(actions))
        if action.get("actionType") == ActionType.CREATE_TIMER and action.get("isCanceled")
    ]


def describe_action(action: Mapping[str, Any]) -> str:
    """A short human description for error messages."""
    kind = action.get("actionType")
    try:
        name = ActionType(kind).name if isinstance(kind, int) else f"action type {kind}"
    except ValueError:
        name = f"action type {kind}"
    if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
        return f"{name} {action.get('functionName')!r} input {action.get('input')}"
    if kind == ActionType.CREATE_TIMER:
        return f"{name} at {action.get('fireAt')}"
    if kind in COMPOUND_ACTIONS:
        inner = ", ".join(describe_action(a) for a in action.get("compoundActions") or [])
        return f"{name}[{inner}]"
    return name


def parse_state(text: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(text)
    return state


def split_failure(message: str) -> tuple[str, dict[str, Any] | None]:
    """An orchestrator's exception text: the error, and the state after the marker."""
    if OUT_OF_PROC_MARKER not in message:
        return message, None
    error, _, state_text = message.partition(OUT_OF_PROC_MARKER)
    try:
        return error, parse_state(state_text)
    except ValueError:
        return error, None
