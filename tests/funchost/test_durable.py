# mypy: disable-error-code="untyped-decorator"
# (the Durable SDK's decorators carry no types)
"""The Durable stand-in drives orchestrators and activities through the real SDK.

The functions are registered on a throwaway ``DFApp`` below; every test gets a
fresh stand-in on a virtual clock, so timers fire only when a test advances it.
Orchestrator code is the SDK's own: the stand-in feeds it the history it
records, one new event per episode, exactly as the extension's protocol does.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from funchost.durable import (
    DurableStandIn,
    EventType,
    NonDeterministicOrchestrationError,
    RuntimeStatus,
    UnknownFunctionError,
    VirtualClock,
    WallClock,
)

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# --- activities -------------------------------------------------------------------


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="value")
def shout(value: str) -> str:
    # A synchronous activity: the worker runs it on a thread.
    return f"{value.upper()}! ({threading.current_thread() is threading.main_thread()})"


@app.activity_trigger(input_name="value")
async def explode(value: str) -> str:
    raise ValueError(f"cannot handle {value}")


class Gate:
    """Lets a test see how many activities run at once, and hold them."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.barrier: asyncio.Barrier | None = None


GATE = Gate()


@app.activity_trigger(input_name="value")
async def gated(value: int) -> int:
    GATE.running += 1
    GATE.peak = max(GATE.peak, GATE.running)
    try:
        if GATE.barrier is not None:
            # Returns only once every party has arrived: only concurrent runs get here.
            await GATE.barrier.wait()
        else:
            await asyncio.sleep(0)
        return value * 10
    finally:
        GATE.running -= 1


FLAKY: dict[str, int] = {}


@app.activity_trigger(input_name="value")
async def flaky(value: dict[str, Any]) -> str:
    """Fails until it has been called ``value["succeed_on"]`` times for ``value["key"]``."""
    key = value["key"]
    FLAKY[key] = FLAKY.get(key, 0) + 1
    if FLAKY[key] < value["succeed_on"]:
        raise RuntimeError(f"attempt {FLAKY[key]} failed")
    return f"ok after {FLAKY[key]}"


HELD: dict[str, Any] = {"release": None, "started": None}


@app.activity_trigger(input_name="value")
async def held(value: int) -> int:
    """Runs until the test releases it (a long Business Central call, say)."""
    HELD["started"].put_nowait(value)
    await HELD["release"].wait()
    return value + 1


BRANCH = {"take_b": False}


@app.activity_trigger(input_name="value")
async def flip(value: str) -> str:
    BRANCH["take_b"] = True  # changes what the orchestrator below does on replay
    return value


# --- orchestrators -----------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext) -> Any:
    start = context.get_input()
    first = yield context.call_activity("double", start)
    second = yield context.call_activity("double", first)
    loud = yield context.call_activity("shout", "done")
    return {"values": [first, second], "loud": loud, "id": context.instance_id}


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Any:
    items = context.get_input()
    results = yield context.task_all([context.call_activity("gated", i) for i in items])
    return results


@app.orchestration_trigger(context_name="context")
def window(context: df.DurableOrchestrationContext) -> Any:
    """Keep at most ``size`` activities pending; record results by item."""
    settings = context.get_input()
    items, size = list(settings["items"]), settings["size"]
    pending: dict[Any, int] = {}
    results: dict[str, int] = {}
    while items or pending:
        while items and len(pending) < size:
            item = items.pop(0)
            pending[context.call_activity("gated", item)] = item
        done = yield context.task_any(list(pending))
        item = pending.pop(done)
        results[str(item)] = done.result
    return results


@app.orchestration_trigger(context_name="context")
def sleepy(context: df.DurableOrchestrationContext) -> Any:
    seconds = context.get_input()
    before = context.current_utc_datetime
    context.set_custom_status({"phase": "waiting"})
    yield context.create_timer(before + timedelta(seconds=seconds))
    after = context.current_utc_datetime
    value = yield context.call_activity("double", seconds)
    context.set_custom_status({"phase": "done"})
    return {"before": before.isoformat(), "after": after.isoformat(), "value": value}


@app.orchestration_trigger(context_name="context")
def careful(context: df.DurableOrchestrationContext) -> Any:
    try:
        yield context.call_activity("explode", "this")
    except Exception as exc:
        return f"caught: {exc}"
    return "not reached"


@app.orchestration_trigger(context_name="context")
def all_or_nothing(context: df.DurableOrchestrationContext) -> Any:
    tasks = [
        context.call_activity("double", 1),
        context.call_activity("explode", "second"),
        context.call_activity("double", 3),
    ]
    try:
        yield context.task_all(tasks)
    except Exception as exc:
        return f"task_all failed: {exc}"
    return "not reached"


@app.orchestration_trigger(context_name="context")
def reckless(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("double", 1)
    raise KeyError("no such thing")


@app.orchestration_trigger(context_name="context")
def persistent(context: df.DurableOrchestrationContext) -> Any:
    settings = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
    try:
        result = yield context.call_activity_with_retry("flaky", options, settings)
    except Exception as exc:
        return f"gave up: {exc}"
    after = yield context.call_activity("double", 21)
    return [result, after]


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext) -> Any:
    count = context.get_input()
    yield context.call_activity("double", count)
    if count < 3:
        context.continue_as_new(count + 1)
        return None
    return f"counted to {count}"


@app.orchestration_trigger(context_name="context")
def fickle(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("double", 1)
    # Reads a global that a later activity changes: the replay takes another branch.
    name = "shout" if BRANCH["take_b"] else "double"
    yield context.call_activity(name, 2 if name == "double" else "b")
    yield context.call_activity("flip", "a")
    return "fine"


@app.orchestration_trigger(context_name="context")
def shrinks(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("double", 1)
    if BRANCH["take_b"]:
        return "skipped"  # on replay, the recorded "flip" is never asked for again
    yield context.call_activity("flip", "a")
    return "fine"


@app.orchestration_trigger(context_name="context")
def wanders(context: df.DurableOrchestrationContext) -> Any:
    # Branching on a global BEFORE the first action: every replay differs.
    name = "shout" if BRANCH["take_b"] else "flip"
    yield context.call_activity(name, "x")
    yield context.call_activity("double", 2)
    return "fine"


@app.orchestration_trigger(context_name="context")
def deadline(context: df.DurableOrchestrationContext) -> Any:
    """Race an activity against a timeout timer, cancel the timer, go on."""
    timeout = context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    work = context.call_activity("double", 4)
    winner = yield context.task_any([work, timeout])
    if winner is timeout:
        return "timed out"
    timeout.cancel()
    more = yield context.call_activity("double", winner.result)
    return more


@app.orchestration_trigger(context_name="context")
def week_long(context: df.DurableOrchestrationContext) -> Any:
    # Longer than maximumShortTimerDuration (6 days): the SDK splits it in intervals.
    yield context.create_timer(context.current_utc_datetime + timedelta(days=7))
    return context.current_utc_datetime.isoformat()


@app.orchestration_trigger(context_name="context")
def replaying(context: df.DurableOrchestrationContext) -> Any:
    seen = [context.is_replaying]
    token = context.new_uuid()
    echoed = yield context.call_activity("shout", token)
    seen.append(context.is_replaying)
    yield context.call_activity("double", 2)
    seen.append(context.is_replaying)
    return {"seen": seen, "token": token, "echoed": echoed}


@app.orchestration_trigger(context_name="context")
def holding(context: df.DurableOrchestrationContext) -> Any:
    first = yield context.call_activity("held", 1)
    second = yield context.call_activity("double", first)
    return second


@app.orchestration_trigger(context_name="context")
def throttled(context: df.DurableOrchestrationContext) -> Any:
    """Wait 30 s before each of three attempts, like a Retry-After loop."""
    attempts = []
    for attempt in range(3):
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
        attempts.append((yield context.call_activity("double", attempt)))
    return {"attempts": attempts, "at": context.current_utc_datetime.isoformat()}


# --- fixtures ---------------------------------------------------------------------


@pytest.fixture
async def durable() -> AsyncIterator[DurableStandIn]:
    GATE.__init__()  # type: ignore[misc]
    FLAKY.clear()
    BRANCH["take_b"] = False
    stand_in = DurableStandIn(app, clock=VirtualClock(START))
    yield stand_in
    await stand_in.shutdown()


def scheduled(view: Any) -> list[tuple[int, str, Any]]:
    return [(e["EventId"], e["Name"], e["Input"]) for e in view.events(EventType.TASK_SCHEDULED)]


# --- tests ------------------------------------------------------------------------


async def test_sequence_completes_with_output_and_history(durable: DurableStandIn) -> None:
    instance_id = await durable.start_new("sequence", 5, instance_id="seq-1")
    view = await durable.wait_done(instance_id)

    assert view.status is RuntimeStatus.COMPLETED
    assert view.output["values"] == [10, 20]
    assert view.output["loud"] == "DONE! (False)"  # the sync activity ran off the loop thread
    assert view.output["id"] == "seq-1"
    assert view.input_text == "5"
    assert scheduled(view) == [(0, "double", "5"), (1, "double", "10"), (2, "shout", '"done"')]
    completed = view.events(EventType.TASK_COMPLETED)
    assert [(e["TaskScheduledId"], e["Result"]) for e in completed] == [
        (0, "10"),
        (1, "20"),
        (2, '"DONE! (False)"'),
    ]
    kinds = [e["EventType"] for e in view.history]
    assert kinds[:2] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]
    # One new event per episode: started, then one completion each.
    assert kinds.count(EventType.ORCHESTRATOR_STARTED) == 4
    assert kinds.count(EventType.ORCHESTRATOR_COMPLETED) == 4
    assert kinds[-1] == EventType.EXECUTION_COMPLETED
    assert durable.activity_runs == {"double": 2, "shout": 1}
    # What the worker spent replaying, and the largest body an episode was handed (the
    # last: the history only grows).
    assert view.episodes == 4
    assert view.replay_cpu_s > 0
    assert view.largest_episode_chars > len(json.dumps(view.history[:-4]))


async def test_task_all_runs_activities_concurrently_and_keeps_order(
    durable: DurableStandIn,
) -> None:
    # Each activity waits until all five are running: this completes only if the
    # stand-in runs them at the same time.
    GATE.barrier = asyncio.Barrier(5)
    instance_id = await durable.start_new("fan_out", [1, 2, 3, 4, 5])
    view = await durable.wait_done(instance_id)

    assert view.output == [10, 20, 30, 40, 50]
    assert GATE.peak == 5
    assert durable.activity_peaks["gated"] == 5
    assert scheduled(view) == [(i, "gated", str(i + 1)) for i in range(5)]


async def test_task_any_sliding_window_numbers_tasks_like_the_sdk(
    durable: DurableStandIn,
) -> None:
    instance_id = await durable.start_new("window", {"items": [1, 2, 3, 4, 5, 6, 7], "size": 3})
    view = await durable.wait_done(instance_id)

    assert view.status is RuntimeStatus.COMPLETED
    assert view.output == {str(i): i * 10 for i in range(1, 8)}
    assert GATE.peak == 3
    assert durable.activity_peaks["gated"] == 3
    ids = [task_id for task_id, _, _ in scheduled(view)]
    assert ids == list(range(7))
    # Every completion went to the task that was scheduled with that input.
    inputs = {task_id: int(text) for task_id, _, text in scheduled(view)}
    for event in view.events(EventType.TASK_COMPLETED):
        assert int(event["Result"]) == inputs[event["TaskScheduledId"]] * 10


async def test_timer_waits_for_the_virtual_clock(durable: DurableStandIn) -> None:
    instance_id = await durable.start_new("sleepy", 30)
    await durable.wait_idle()
    view = durable.instance(instance_id)
    assert view is not None
    assert view.status is RuntimeStatus.RUNNING
    assert view.custom_status == {"phase": "waiting"}
    assert view.pending_timers == [START + timedelta(seconds=30)]
    assert durable.activity_runs["double"] == 0

    await durable.advance_async(29)
    await durable.wait_idle()
    assert durable.activity_runs["double"] == 0

    await durable.advance_async(1)
    view = await durable.wait_done(instance_id)
    assert view.output == {
        "before": START.isoformat(),
        "after": (START + timedelta(seconds=30)).isoformat(),
        "value": 60,
    }
    assert view.custom_status == {"phase": "done"}
    [created] = view.events(EventType.TIMER_CREATED)
    [fired] = view.events(EventType.TIMER_FIRED)
    assert created["EventId"] == fired["TimerId"] == 0
    assert fired["FireAt"] == "2026-03-01T12:00:30.000000Z"


async def test_activity_failure_reaches_the_orchestrator_as_task_failed(
    durable: DurableStandIn,
) -> None:
    view = await durable.wait_done(await durable.start_new("careful"))

    assert view.status is RuntimeStatus.COMPLETED
    assert view.output.startswith(
        "caught: Activity function 'explode' failed: ValueError: cannot handle this"
    )
    [failed] = view.events(EventType.TASK_FAILED)
    assert failed["TaskScheduledId"] == 0
    assert "ValueError: cannot handle this" in failed["Details"]


async def test_task_all_fails_on_the_first_failure(durable: DurableStandIn) -> None:
    view = await durable.wait_done(await durable.start_new("all_or_nothing"))

    assert view.output.startswith("task_all failed: Activity function 'explode' failed:")
    assert "cannot handle second" in view.output


async def test_an_orchestrator_exception_fails_the_instance(durable: DurableStandIn) -> None:
    view = await durable.wait_done(await durable.start_new("reckless"))

    assert view.status is RuntimeStatus.FAILED
    assert view.output == "Orchestrator function 'reckless' failed: 'no such thing'"
    assert durable.errors == []  # an ordinary failure, not a stand-in error


async def test_call_activity_with_retry_waits_between_attempts(durable: DurableStandIn) -> None:
    instance_id = await durable.start_new("persistent", {"key": "r1", "succeed_on": 3})
    await durable.wait_idle()
    assert FLAKY["r1"] == 1
    view = durable.instance(instance_id)
    assert view is not None
    assert view.pending_timers == [START + timedelta(seconds=5)]

    await durable.advance_async(5)
    await durable.wait_idle()
    assert FLAKY["r1"] == 2

    await durable.advance_async(5)
    view = await durable.wait_done(instance_id)
    assert view.output == ["ok after 3", 42]
    # Retry timers consume task ids, as the SDK numbers them.
    assert [e["EventId"] for e in view.events(EventType.TIMER_CREATED)] == [1, 3]
    assert [task_id for task_id, _, _ in scheduled(view)] == [0, 2, 4, 5]
    assert [e["TaskScheduledId"] for e in view.events(EventType.TASK_FAILED)] == [0, 2]


async def test_call_activity_with_retry_gives_up_after_the_last_attempt(
    durable: DurableStandIn,
) -> None:
    instance_id = await durable.start_new("persistent", {"key": "r2", "succeed_on": 99})
    for _ in range(3):
        await durable.wait_idle()
        await durable.advance_async(5)
    view = await durable.wait_done(instance_id)

    assert FLAKY["r2"] == 3
    assert view.output.startswith("gave up: Activity function 'flaky' failed: RuntimeError:")
    assert "attempt 3 failed" in view.output
    # One timer after each failure, the last one included.
    assert len(view.events(EventType.TIMER_FIRED)) == 3


async def test_continue_as_new_restarts_the_history(durable: DurableStandIn) -> None:
    view = await durable.wait_done(await durable.start_new("counter", 1))

    assert view.output == "counted to 3"
    assert len(view.previous_histories) == 2
    assert view.input_text == "3"
    starts = [h[1] for h in [*view.previous_histories, view.history]]
    assert [e["Input"] for e in starts] == ["1", "2", "3"]
    assert scheduled(view) == [(0, "double", "3")]  # ids start again at 0
    assert durable.activity_runs["double"] == 3


async def test_a_nondeterministic_orchestrator_is_caught_loudly(
    durable: DurableStandIn,
) -> None:
    instance_id = await durable.start_new("fickle")
    with pytest.raises(NonDeterministicOrchestrationError, match="Non-deterministic"):
        await durable.wait_idle()

    view = durable.instance(instance_id)
    assert view is not None
    assert view.status is RuntimeStatus.FAILED
    assert view.failure is not None
    assert "orchestrator 'fickle'" in view.failure
    assert "action 1 was CALL_ACTIVITY 'double' input 2 and is now CALL_ACTIVITY 'shout'" in (
        view.failure
    )
    # Nothing after the broken replay ran.
    assert durable.activity_runs == {"double": 2, "flip": 1}


async def test_an_action_missing_on_replay_is_caught(durable: DurableStandIn) -> None:
    instance_id = await durable.start_new("shrinks")
    missing = r"action 1 \(CALL_ACTIVITY 'flip'"
    with pytest.raises(NonDeterministicOrchestrationError, match=missing):
        await durable.wait_idle()
    view = durable.instance(instance_id)
    assert view is not None
    assert view.status is RuntimeStatus.FAILED
    assert view.output != "skipped"


async def test_a_changed_action_on_replay_is_caught(durable: DurableStandIn) -> None:
    instance_id = await durable.start_new("wanders")
    with pytest.raises(NonDeterministicOrchestrationError) as caught:
        await durable.wait_idle()

    assert "action 0 was CALL_ACTIVITY 'flip'" in str(caught.value)
    assert "now CALL_ACTIVITY 'shout'" in str(caught.value)
    view = durable.instance(instance_id)
    assert view is not None
    assert view.status is RuntimeStatus.FAILED


def test_the_project_tests_package_shadows_the_sdk_one() -> None:
    # The SDK wheel installs a top-level ``tests`` package of its own.
    import tests

    assert Path(tests.__file__).resolve().parent == Path(__file__).resolve().parents[1]


async def test_a_cancelled_timer_is_not_a_replay_difference(durable: DurableStandIn) -> None:
    view = await durable.wait_done(await durable.start_new("deadline"))

    assert view.output == 16
    assert view.pending_timers == []  # the cancelled timer no longer waits
    assert durable.errors == []
    assert isinstance(durable.clock, VirtualClock)
    assert durable.clock.pending() == []


async def test_a_long_timer_fires_in_intervals(durable: DurableStandIn) -> None:
    instance_id = await durable.start_new("week_long")
    await durable.wait_idle()
    view = durable.instance(instance_id)
    assert view is not None
    assert view.pending_timers == [START + timedelta(days=3)]

    await durable.advance_async(timedelta(days=7).total_seconds())
    view = await durable.wait_done(instance_id)
    assert view.output == (START + timedelta(days=7)).isoformat()
    fired = [e["FireAt"] for e in view.events(EventType.TIMER_FIRED)]
    # Three days first (longRunningTimerIntervalDuration), then the 4 days left.
    assert fired == ["2026-03-04T12:00:00.000000Z", "2026-03-08T12:00:00.000000Z"]


async def test_activity_concurrency_can_be_capped() -> None:
    GATE.__init__()  # type: ignore[misc]
    stand_in = DurableStandIn(app, clock=VirtualClock(START), max_concurrent_activities=2)
    try:
        view = await stand_in.wait_done(await stand_in.start_new("fan_out", [1, 2, 3, 4, 5, 6]))
    finally:
        await stand_in.shutdown()
    assert view.output == [10, 20, 30, 40, 50, 60]
    assert GATE.peak == 2


async def test_the_wall_clock_fires_timers_by_itself() -> None:
    stand_in = DurableStandIn(app, clock=WallClock())
    try:
        # A timer 0.05 s ahead: no one advances anything, it fires on its own.
        view = await stand_in.wait_done(await stand_in.start_new("sleepy", 0.05))
    finally:
        await stand_in.shutdown()
    assert view.status is RuntimeStatus.COMPLETED
    assert view.output["value"] == 0.1
    with pytest.raises(TypeError, match="VirtualClock"):
        await stand_in.advance_async(1)


async def test_advancing_fires_timers_set_while_time_passes(durable: DurableStandIn) -> None:
    instance_id = await durable.start_new("throttled")
    # 90 s pass: each timer fires at its time, the next one is set then, and fires too.
    await durable.advance_async(90)
    view = await durable.wait_done(instance_id)

    assert view.output == {
        "attempts": [0, 2, 4],
        "at": (START + timedelta(seconds=90)).isoformat(),
    }
    fired = [e["FireAt"] for e in view.events(EventType.TIMER_FIRED)]
    assert fired == [
        "2026-03-01T12:00:30.000000Z",
        "2026-03-01T12:01:00.000000Z",
        "2026-03-01T12:01:30.000000Z",
    ]


async def test_the_blocking_advance_refuses_to_run_on_the_engine_loop(
    durable: DurableStandIn,
) -> None:
    await durable.start_new("throttled")
    with pytest.raises(RuntimeError, match="await advance"):
        durable.advance(30)


async def test_a_lost_activity_result_makes_the_activity_run_again(
    durable: DurableStandIn,
) -> None:
    durable.lose_next_results("double", times=2)
    view = await durable.wait_done(await durable.start_new("sequence", 5))

    assert view.output["values"] == [10, 20]
    # The first call ran three times (two results lost), the second once.
    assert durable.activity_runs["double"] == 4
    assert len(view.events(EventType.TASK_COMPLETED)) == 3
    with pytest.raises(UnknownFunctionError):
        durable.lose_next_results("no_such_activity")


async def test_a_restart_runs_activities_in_progress_again(durable: DurableStandIn) -> None:
    HELD["release"], HELD["started"] = asyncio.Event(), asyncio.Queue()
    instance_id = await durable.start_new("holding")
    await HELD["started"].get()  # the activity is in progress

    assert await durable.restart() == 1
    await HELD["started"].get()  # it has started again
    HELD["release"].set()
    view = await durable.wait_done(instance_id)

    assert view.output == 4
    assert durable.activity_runs["held"] == 2
    # The killed run left no trace in the history: one schedule, one result.
    assert [name for _, name, _ in scheduled(view)] == ["held", "double"]
    assert len(view.events(EventType.TASK_COMPLETED)) == 2


async def test_replays_are_flagged_and_new_uuid_is_stable(durable: DurableStandIn) -> None:
    view = await durable.wait_done(await durable.start_new("replaying"))

    # The last episode replays the first two steps and runs the third for real.
    assert view.output["seen"] == [True, True, False]
    # The same id on every replay: the activity got the one the last replay computed.
    token = view.output["token"]
    assert view.output["echoed"].startswith(token.upper())
    assert scheduled(view)[0] == (0, "shout", f'"{token}"')


def test_the_deployed_code_never_imports_the_stand_in() -> None:
    import ast

    root = Path(__file__).resolve().parents[2]
    deployed = [root / "function_app.py", *sorted((root / "shared").rglob("*.py"))]
    for path in deployed:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("funchost", "sandbox")), f"{path} imports {name}"
