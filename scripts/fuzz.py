"""Fuzz the running proxy with schemathesis, from its own OpenAPI document.

    python -m scripts.fuzz [--cases N] [--seed S]

Starts the Business Central sandbox and the local host serving function_app
(both on free loopback ports, in this process), loads /api/openapi.json, and
sends schema-valid and schema-violating requests to every operation. Each
answer must be below 500 and conform to the document: status code, content
type, headers and body schema (problems included); data the schema refuses
must be refused. Prints a summary; exits 1 on any failure.

``make test`` runs a short round of the same harness (tests/e2e/test_schemathesis.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parents[1]

# What every answer must satisfy. Left out on purpose: positive_data_acceptance
# (random GUIDs are rightly 404 from Business Central, random ETags 412),
# ignored_auth (the local host does not check function keys, like the Functions
# host run locally), unsupported_method (the contract answers 404, not 405).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    # Answered by the local host itself (no route matched), never by the app.

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        unique = sorted(set(self.failures))
        lines = [
            f"schemathesis: {self.cases} cases, {len(self.failures)} failures "
            f"({len(unique)} distinct)",
            f"statuses: {statuses}",
        ]
        lines += [f"  FAIL {failure}" for failure in unique[:20]]
        return "\n".join(lines)


def _describe(case: Case[Any], error: BaseException) -> str:
    text = " ".join(str(error).split())[:300]
    return f"{case.method} {case.formatted_path}: {type(error).__name__}: {text}"


def fuzz(
    base_url: str,
    *,
    cases: int,
    known_ids: dict[str, str] | None = None,
    seed: int = 0,
) -> FuzzReport:
    """Send ``cases`` requests and check every answer.

    A third are schema-valid with random ids (mostly 404 from Business
    Central), a third schema-valid aimed at ``known_ids`` (an existing line:
    updates, ETag conflicts, Business Central's own refusals), and a third
    schema-violating.
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    # The local host, like the Functions host run locally, checks no function
    # key: a missing key is not something the app itself can refuse.
    schema.config.generation.with_security_parameters = False
    report = FuzzReport()
    rounds = [
        (GenerationMode.POSITIVE, None),
        (GenerationMode.POSITIVE, known_ids),
        (GenerationMode.NEGATIVE, None),
    ]
    for index, (mode, ids) in enumerate(rounds):
        strategy = schema.as_strategy(generation_mode=mode, path_parameters=ids)
        cases_per_round = cases // len(rounds) + (1 if index < cases % len(rounds) else 0)

        # A fixed seed: the same cases every run unless --seed says otherwise.
        @hypothesis_seed(seed * len(rounds) + index)
        @settings(
            max_examples=cases_per_round,
            derandomize=False,
            database=None,
            deadline=None,
            phases=[Phase.generate],  # every example counts; failures are collected, not shrunk
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Case[Any]) -> None:
            response = case.call(base_url=f"{base_url}/api", timeout=30)
            report.cases += 1
            report.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, FailureGroup) as exc:
                report.failures.append(_describe(case, exc))

        run()
    return report


@contextmanager
def running_proxy(environ: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """The sandbox and the local host serving function_app.

    Yields the proxy's base URL and the path ids of a seeded payment line.
    """
    from funchost.http import create_local_host
    from sandbox.serving import BackgroundServer
    from shared import runtime as runtime_module
    from tests.sandbox_fixtures import start_sandbox

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        os.environ.update(environ or {})
        runtime_module.reset_settings()
        import function_app

        host = create_local_host(
            function_app.app,
            host_json=ROOT / "host.json",
            on_shutdown=[runtime_module.aclose_runtime],
        )
        server = BackgroundServer(host).start()
        company = sandbox.seed["companies"][0]
        journal = company["journals"][0]
        ids = {
            "companyId": company["id"],
            "journalId": journal["id"],
            "paymentId": journal["payments"][0]["id"],
        }
        try:
            yield server.url, ids
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="total cases (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    # Short budgets: a fuzzer must not wait out retries of a deliberately broken request.
    with running_proxy(
        {"SYNC_BUDGET_S": "2", "READ_BACK_RESERVE_S": "0.5", "MIN_ATTEMPT_S": "0.5"}
    ) as (url, ids):
        report = fuzz(url, cases=args.cases, known_ids=ids, seed=args.seed)
    print(report.summary())  # noqa: T201 - the summary is this command's output
    print(f"took {time.monotonic() - started:.1f} s")  # noqa: T201
    return 1 if report.failures or report.cases < args.cases else 0


if __name__ == "__main__":
    sys.exit(main())
