"""Which core modules one request passes through, and how often it is checked.

    .venv/bin/python bench/request_path.py [--path]

Serves function_app on the local host against the sandbox, sends one PATCH and
one bulk start (with validateOnly, so that no job runs), and follows every call
into ``shared`` with a profiler. Prints, per request: the modules entered, the
stops (each time the path moves from one module to another), the same counted
without the event loop's resumptions (a coroutine resumed after a wait enters
every module of its await chain again; "calls" counts only fresh calls), how
many of those calls return to a module the path had already left, and how many
times each request check ran (route, caller, ids, scope, query names, the
If-Match and body parse). A request is meant to be let in once and parsed once.
``--path`` adds the stops themselves, in order (a coroutine resumed by the event
loop enters every module of its await chain again, so waits add stops).
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from funchost.http import create_local_host  # noqa: E402
from sandbox.serving import serve_in_thread  # noqa: E402
from tests.support.sandbox import start_sandbox  # noqa: E402

# The functions that check or parse a request, by name, whatever module holds them.
CHECKS = (
    "admit",
    "check_route",
    "check_caller",
    "principal_claims",
    "bad_guids",
    "check_scope",
    "check_query_names",
    "_check_query",
    "parse_route",
    "prepare_update",
    "if_match_header",
    "parse_body",
    "parse_bulk_request",
)


class Path_:
    def __init__(self) -> None:
        self.modules: list[str] = []
        # The same walk with resumed coroutine frames left out.
        self.calls: list[str] = []
        # Held, not only their ids: a frame kept alive never hands its id to another.
        self.seen: set[FrameType] = set()
        self.checks: collections.Counter[str] = collections.Counter()
        self.on = False

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if not self.on or event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("shared") and module != "function_app":
            return
        if not self.modules or self.modules[-1] != module:
            self.modules.append(module)
        if frame not in self.seen:
            self.seen.add(frame)
            if not self.calls or self.calls[-1] != module:
                self.calls.append(module)
        if frame.f_code.co_name in CHECKS:
            self.checks[frame.f_code.co_name] += 1


def returns(walk: list[str]) -> int:
    """Stops into a module the walk had entered before and left."""
    entered: set[str] = set()
    count = 0
    for module in walk:
        count += module in entered
        entered.add(module)
    return count


def follow(trace: Path_, send: Any, path: bool = False) -> dict[str, Any]:
    trace.modules.clear()
    trace.calls.clear()
    trace.seen.clear()
    trace.checks.clear()
    trace.on = True
    try:
        status = send()
    finally:
        trace.on = False
    found = {
        "status": status,
        "modules": len(set(trace.modules)),
        "stops": len(trace.modules),
        "calls": len(trace.calls),
        "returns": returns(trace.calls),
        "checks": dict(sorted(trace.checks.items())),
    }
    if path:
        found["path"] = [module.removeprefix("shared.") for module in trace.modules]
        found["call path"] = [module.removeprefix("shared.") for module in trace.calls]
    return found


def main() -> int:
    show_path = "--path" in sys.argv[1:]
    trace = Path_()
    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        import function_app

        host = create_local_host(function_app.app, host_json=ROOT / "host.json")
        threading.setprofile(trace.profile)
        with serve_in_thread(host) as proxy, httpx.Client(timeout=60) as http:
            company = sandbox.seed["companies"][0]
            journal = company["journals"][0]
            line = journal["payments"][0]
            base = f"{proxy.url}/api/v2.0/companies/{company['id']}"
            base += f"/customerPaymentJournals/{journal['id']}"
            headers = {"Content-Type": "application/json", "If-Match": "*"}
            http.get(f"{proxy.url}/api/health")
            patch = follow(
                trace,
                lambda: (
                    http.patch(
                        f"{base}/customerPayments/{line['id']}",
                        content=b'{"comment": "traced"}',
                        headers=headers,
                    ).status_code
                ),
                show_path,
            )
            body = {"updates": [{"id": line["id"], "ifMatch": "*", "changes": {"comment": "x"}}]}
            bulk = follow(
                trace,
                lambda: (
                    http.post(
                        f"{base}/bulkPaymentUpdates?validateOnly=true",
                        content=json.dumps(body).encode(),
                        headers={"Content-Type": "application/json"},
                    ).status_code
                ),
                show_path,
            )
        threading.setprofile(None)
    print(json.dumps({"PATCH": patch, "bulk start": bulk}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
