"""Chaos for bulk jobs: jobs of updates through the local host, the Durable
stand-in (on the wall clock) and the sandbox, with faults on whole ``$batch``
requests and direct writers racing some lines, then every item's reported
outcome compared with what Business Central's request log proves.

    .venv/bin/python bench/chaos.py --bulk [--jobs 20] [--items 100] [--seed 7]
                                           [--fault-rate 0.1] [--race-rate 0.1]

Each item writes a value of its own to ``comment``; a racer writes
``description`` straight to the sandbox, so it changes the line's ETag (and
so the If-Match decisions) without ever writing the item's value. The log
records each ``$batch`` operation's own status, so "applied" is counted per
item: the operations that PATCHed its line with a 2xx.

Categories that must be 0: lost (reported failed, but applied), phantom
(reported updated, never applied), duplicated (a specific-ETag item applied
more than once), false (reported updated with a line that does not hold its
value, or the line does not hold it now although nothing else wrote comment).
Exit code 0 only when all four are 0.
"""

from __future__ import annotations

import collections
import os
import random
import threading
import time
from typing import Any

import httpx

from bench.bulk import bulk_stack
from shared.process.jsonio import dumps_exact, loads_exact
from tests.support.sandbox import RunningSandbox, start_sandbox

# Whole-batch faults: each rule takes the next $batch request it meets.
BATCH_FAULTS: dict[str, dict[str, Any]] = {
    "drop before": {"drop": "before", "delayMs": 100},
    "drop after": {"drop": "after"},
    "429 Retry-After 1": {"status": 429, "code": "Application_TooManyRequests", "retryAfter": 1},
    "503 Retry-After 1": {"status": 503, "code": "Internal_TenantUnavailable", "retryAfter": 1},
    "401 once": {"status": 401, "code": "Authentication_InvalidCredentials"},
    # Whole-batch answers that prove nothing, after the batch ran or before it did.
    "408 after it ran": {"status": 408, "code": "Unknown", "processFirst": True},
    "500 after it ran": {"status": 500, "code": "Internal_ServerError", "processFirst": True},
    "503 gateway after it ran": {"status": 503, "rawBody": "<html>503", "processFirst": True},
    "400 before it ran": {"status": 400, "code": "BadRequest"},
}
SETTINGS = {
    "SYNC_BUDGET_S": "6",
    "READ_BACK_RESERVE_S": "2",
    "MIN_ATTEMPT_S": "1",
    "BULK_BATCH_SIZE": "25",
    "BULK_MAX_CONCURRENCY": "2",
}
POLL_S = 0.2


def payment_of(url: str) -> str:
    return url.rsplit("(", 1)[1].rstrip(")").lower()


def applied_writes(entries: list[dict[str, Any]]) -> collections.Counter[str]:
    """2xx PATCH operations per line, from the $batch entries of the log."""
    applied: collections.Counter[str] = collections.Counter()
    for entry in entries:
        statuses = entry.get("operationStatuses") or {}
        if not entry["path"].endswith("/$batch") or not isinstance(entry.get("body"), dict):
            continue
        for op in entry["body"].get("requests", []):
            status = statuses.get(str(op.get("id")))
            if op.get("method") == "PATCH" and isinstance(status, int) and 200 <= status < 300:
                applied[payment_of(op["url"])] += 1
    return applied


def race(sandbox: RunningSandbox, lines: list[str], rng: random.Random, stop: float) -> None:
    """Write ``description`` of each line once, at a random moment of the job."""
    with httpx.Client(timeout=30, headers=sandbox.auth_headers()) as http:
        for line in lines:
            time.sleep(rng.uniform(0, 0.4))
            if time.monotonic() > stop:
                return
            http.patch(
                sandbox.line_url(line),
                content=dumps_exact({"description": f"racer {rng.random():.6f}"}),
                headers={"If-Match": "*", "Content-Type": "application/json"},
            )


def run(jobs: int, items: int, seed: int, fault_rate: float, race_rate: float) -> int:
    rng = random.Random(seed)
    tally: collections.Counter[str] = collections.Counter()
    faults_used: collections.Counter[str] = collections.Counter()
    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        os.environ.update(SETTINGS)
        with bulk_stack(sandbox) as (base, _), httpx.Client(timeout=120) as http:
            batches = -(-items // int(SETTINGS["BULK_BATCH_SIZE"]))
            started = time.perf_counter()
            for job in range(jobs):
                lines = sandbox.add_lines(items)
                with httpx.Client(timeout=30, headers=sandbox.auth_headers()) as direct:
                    etags = {
                        line: str(
                            loads_exact(direct.get(sandbox.line_url(line)).content)["@odata.etag"]
                        )
                        for line in lines
                    }
                updates: list[dict[str, Any]] = []
                for n, line in enumerate(lines):
                    form = rng.choice(["weak", "strong", "*"])
                    if_match = {
                        "weak": etags[line],
                        "strong": etags[line].removeprefix("W/"),
                        "*": "*",
                    }[form]
                    changes = {"comment": f"job {job} item {n}"}
                    updates.append({"id": line, "ifMatch": if_match, "changes": changes})
                rules = []
                for _ in range(batches):
                    if rng.random() < fault_rate:
                        kind = rng.choice(sorted(BATCH_FAULTS))
                        faults_used[kind] += 1
                        rules.append(
                            {"method": "POST", "path": "$batch", "times": 1, **BATCH_FAULTS[kind]}
                        )
                sandbox.clear_requests()
                if rules:
                    sandbox.add_faults(*rules)
                racers = [line for line in lines if rng.random() < race_rate]
                racer = threading.Thread(
                    target=race,
                    args=(sandbox, racers, random.Random(rng.random()), time.monotonic() + 30),
                )
                response = http.post(
                    f"{base}/bulkPaymentUpdates",
                    content=dumps_exact({"updates": updates}),
                    headers={"Content-Type": "application/json"},
                )
                if response.status_code != 202:
                    raise SystemExit(
                        f"job {job} did not start: {response.status_code} {response.text[:300]}"
                    )
                racer.start()
                while True:
                    status = httpx.get(response.headers["Location"], timeout=30)
                    if status.status_code == 200:
                        break
                    time.sleep(POLL_S)
                racer.join()
                sandbox.clear_faults()
                result = loads_exact(status.content)
                applied = applied_writes(sandbox.requests())
                with httpx.Client(timeout=30, headers=sandbox.auth_headers()) as direct:
                    now = {
                        line: loads_exact(direct.get(sandbox.line_url(line)).content)["comment"]
                        for line in lines
                    }
                for update, item in zip(updates, result["items"], strict=True):
                    line, value = str(update["id"]), str(update["changes"]["comment"])
                    count = applied[line.lower()]
                    tally[item["outcome"]] += 1
                    if item["outcome"] == "failed" and count:
                        tally["lost"] += 1
                    if item["outcome"] == "updated" and not count:
                        tally["phantom"] += 1
                    if update["ifMatch"] != "*" and count > 1:
                        tally["duplicated"] += 1
                    if update["ifMatch"] == "*" and count > 1:
                        tally["star written again"] += 1
                    reported = (item.get("line") or {}).get("comment")
                    if item["outcome"] == "updated" and (reported != value or now[line] != value):
                        tally["false"] += 1
                    if count and now[line] != value:
                        tally["false"] += 1
                    if item["outcome"] == "failed":
                        tally[f"failed {item['problem']['type'].rsplit('#', 1)[-1]}"] += 1
                    if item["outcome"] == "unknown":
                        tally[f"unknown {item['status']}"] += 1
            elapsed = time.perf_counter() - started
    total = jobs * items
    print(
        f"{jobs} jobs of {items} ({total} items) in {elapsed:.1f} s; batch faults "
        f"{dict(sorted(faults_used.items()))}; racers ~{race_rate:.0%} of lines"
    )
    for name in ("updated", "failed", "unknown"):
        detail = {k: v for k, v in sorted(tally.items()) if k.startswith(f"{name} ")}
        print(f"  {name:<10} {tally[name]:>5}  {detail if detail else ''}")
    for name in ("lost", "phantom", "duplicated", "false"):
        print(f"  {name:<10} {tally[name]:>5}")
    print(f"  (If-Match: * items written twice, harmless by design: {tally['star written again']})")
    bad = tally["lost"] + tally["phantom"] + tally["duplicated"] + tally["false"]
    return 0 if bad == 0 else 1
