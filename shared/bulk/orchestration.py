"""How a bulk job runs: the orchestrator, which drives the job's plan
(``plan``) through its activities, and the job's result, every item's in request
order with the counts and the job's status.

The orchestrator is replayed by Durable Functions many times, so it does no
I/O and reads no clock or randomness: everything it decides comes from its
input and from the results of the activities it scheduled. Every payload
between the functions is an exact JSON text (amounts stay decimals).
"""

from __future__ import annotations

import datetime
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

from shared.bulk.job import Job
from shared.bulk.plan import JOB_LEVEL_SLUGS, JobPlan, Step, problem_slug
from shared.bulk.results import write_result
from shared.process import telemetry
from shared.process.jsonio import loads_exact
from shared.upstream.batch import Operation

ORCHESTRATOR = "bulk_payment_updates"
SEND_ACTIVITY = "bulk_send_batch"
SETTLE_ACTIVITY = "bulk_settle_items"

# --- the result --------------------------------------------------------------------


def item_results(items: Sequence[Operation], plan: JobPlan) -> list[dict[str, Any]]:
    """One entry per requested update, in request order."""
    results = plan.final_results()
    merged = []
    for item in items:
        result = results.get(item.index) or plan.lost()
        entry: dict[str, Any] = {"id": item.payment_id, "clientRef": item.client_ref}
        entry.update(result)
        if item.index in plan.checks:
            entry["applicationCheck"] = plan.checks[item.index]
        merged.append(entry)
    return merged


def counts(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    tally = {"updated": 0, "failed": 0, "unknown": 0}
    for entry in entries:
        tally[str(entry["outcome"])] += 1
    return tally


def job_status(entries: Sequence[Mapping[str, Any]]) -> str:
    """``Failed`` when the job could not run at all (every item failed for a
    reason of the job, such as the identity); else by the items' outcomes."""
    tally = counts(entries)
    if entries and all(
        e["outcome"] == "failed" and problem_slug(e.get("problem") or {}) in JOB_LEVEL_SLUGS
        for e in entries
    ):
        return "Failed"
    return "Completed" if tally["failed"] == 0 and tally["unknown"] == 0 else "CompletedWithErrors"


def job_result(job: Job, plan: JobPlan) -> dict[str, Any]:
    entries = item_results(job.updates(), plan)
    return {
        "jobId": job.job_id,
        "status": job_status(entries),
        "total": len(entries),
        "counts": counts(entries),
        "items": entries,
        "peakBatchesInFlight": plan.peak,
    }


# --- the orchestrator ----------------------------------------------------------------


def orchestrate(context: Any) -> Generator[Any, Any, str]:
    """Send the job's batches through a sliding window of at most
    ``maxConcurrency`` steps; return the job's result as exact JSON."""
    job = Job.from_json(str(context.get_input()))
    plan = JobPlan.start(
        len(job.items),
        job.batch_size,
        job.max_concurrency,
        job.docs_url,
        job.job_id,
        job.batches_per_step,
    )
    pending: list[tuple[Any, Step]] = []
    started = context.current_utc_datetime
    # Records are written once, by the episode that lives the moment, not by its replays.
    if not context.is_replaying:
        telemetry.emit_job_started(plan.job_id, plan.total, len(plan.ready), plan.max_in_flight)

    def schedule(step: Step) -> None:
        plan.scheduled(step)
        if step.kind == "wait":
            fire_at = context.current_utc_datetime + datetime.timedelta(seconds=step.wait_s)
            pending.append((context.create_timer(fire_at), step))
        else:
            name = SEND_ACTIVITY if step.kind == "send" else SETTLE_ACTIVITY
            pending.append((context.call_activity(name, job.slice_json(step.indexes)), step))

    # The token's digest lets a poll be checked without reading the input.
    progress = {"total": plan.total, "tokenHash": job.token_hash}
    context.set_custom_status({"done": 0, **progress})
    while not plan.finished:
        while (step := plan.take()) is not None:
            schedule(step)
        winner = yield context.task_any([task for task, _ in pending])
        position = next(i for i, (task, _) in enumerate(pending) if task is winner)
        task, step = pending.pop(position)
        follow = plan.finish(step, _answer_of(task) if step.kind != "wait" else None)
        if follow is not None:
            schedule(follow)
        context.set_custom_status({"done": plan.done, **progress})
    result = job_result(job, plan)
    if not context.is_replaying:
        _emit_finished(plan, result, context.current_utc_datetime - started)
    items = result.pop("items")
    return write_result(result, items)


def _emit_finished(plan: JobPlan, result: Mapping[str, Any], took: datetime.timedelta) -> None:
    telemetry.emit_job_finished(
        plan.job_id,
        str(result["status"]),
        result["counts"],
        batches=plan.sends,
        resends=plan.resends,
        reads=plan.reads,
        throttled_waits=plan.waits,
        wait_s=plan.wait_s,
        # Orchestrator time (when the last episode began): replays agree on it.
        duration_s=took.total_seconds(),
        peak_in_flight=plan.peak,
    )


def _answer_of(task: Any) -> dict[str, Any] | None:
    result = task.result
    if isinstance(result, Exception) or not isinstance(result, str):
        return None
    # The packed item results follow a line break (activities.answer_text): kept as
    # text, never parsed on a replay. Results recorded before that have none.
    head, _, packed = result.partition("\n")
    data = loads_exact(head.encode())
    if not isinstance(data, dict):
        return None
    if packed:
        data["settled"] = packed
    return data
