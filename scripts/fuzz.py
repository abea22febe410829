"""Fuzz the running proxy with schemathesis, from its own OpenAPI document.

    python -m scripts.fuzz [--cases N] [--bulk-cases N] [--seed S]

Starts the Business Central sandbox and the local host serving function_app
(both on free loopback ports, in this process), loads /api/openapi.json, and
sends schema-valid and schema-violating requests to every operation, then
more bulk start bodies (valid and not) into a journal that exists. Each
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
    # The bulk rounds' answers, apart: the start route's bodies, valid and not.
    bulk_statuses: Counter[int] = field(default_factory=Counter)
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
        if self.bulk_statuses:
            bulk = ", ".join(f"{status}: {n}" for status, n in sorted(self.bulk_statuses.items()))
            lines.append(f"bulk start bodies: {bulk}")
        lines += [f"  FAIL {failure}" for failure in unique[:20]]
        return "\n".join(lines)


def _describe(case: Case[Any], error: BaseException) -> str:
    text = " ".join(str(error).split())[:300]
    return f"{case.method} {case.formatted_path}: {type(error).__name__}: {text}"


BULK_START = r"/bulkPaymentUpdates$"


def fuzz(
    base_url: str,
    *,
    cases: int,
    known_ids: dict[str, str] | None = None,
    seed: int = 0,
    bulk_cases: int = 0,
) -> FuzzReport:
    """Send ``cases`` requests and check every answer.

    A third are schema-valid with random ids (mostly 404 from Business
    Central), a third schema-valid aimed at ``known_ids`` (an existing line:
    updates, ETag conflicts, Business Central's own refusals), and a third
    schema-violating. Then ``bulk_cases`` more start bulk jobs in the known
    journal, half with schema-valid bodies and half with schema-violating ones,
    so that every body reaches the bulk validation (``bulk_statuses``).
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    # The local host, like the Functions host run locally, checks no function
    # key: a missing key is not something the app itself can refuse.
    schema.config.generation.with_security_parameters = False
    report = FuzzReport()
    rounds: list[tuple[Any, GenerationMode, dict[str, str] | None, int, Counter[int]]] = [
        (schema, mode, ids, cases // 3 + (1 if index < cases % 3 else 0), report.statuses)
        for index, (mode, ids) in enumerate(
            [
                (GenerationMode.POSITIVE, None),
                (GenerationMode.POSITIVE, known_ids),
                (GenerationMode.NEGATIVE, None),
            ]
        )
    ]
    if bulk_cases:
        bulk = schema.include(method="POST", path_regex=BULK_START)
        journal = {k: v for k, v in (known_ids or {}).items() if k in ("companyId", "journalId")}
        for index, mode in enumerate((GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
            share = bulk_cases // 2 + (1 if index < bulk_cases % 2 else 0)
            rounds.append((bulk, mode, journal or None, share, report.bulk_statuses))
    for index, (operations, mode, ids, count, statuses) in enumerate(rounds):
        strategy = operations.as_strategy(generation_mode=mode, path_parameters=ids)
        # A fixed seed: the same cases every run unless --seed says otherwise.
        _run_round(base_url, strategy, count, seed * len(rounds) + index, report, statuses)
    return report


def _run_round(
    base_url: str,
    strategy: Any,
    count: int,
    seed: int,
    report: FuzzReport,
    statuses: Counter[int],
) -> None:
    """``count`` cases drawn from ``strategy``, each sent and checked."""

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
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
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as exc:
            report.failures.append(_describe(case, exc))

    run()


@contextmanager
def running_proxy(environ: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """The sandbox and the local host serving function_app.

    Yields the proxy's base URL and the path ids of a seeded payment line.
    """
    from funchost.http import create_local_host
    from sandbox.serving import BackgroundServer
    from shared.process.settings import reset_settings
    from shared.upstream import runtime as runtime_module
    from tests.support.sandbox import start_sandbox

    with start_sandbox() as sandbox:
        os.environ.update(sandbox.environment_variables())
        os.environ.update(environ or {})
        reset_settings()
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
    parser.add_argument(
        "--bulk-cases", type=int, default=400, help="more cases for bulk bodies (default 400)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    # Short budgets: a fuzzer must not wait out retries of a deliberately broken request.
    with running_proxy(
        {"SYNC_BUDGET_S": "2", "READ_BACK_RESERVE_S": "0.5", "MIN_ATTEMPT_S": "0.5"}
    ) as (url, ids):
        report = fuzz(
            url, cases=args.cases, known_ids=ids, seed=args.seed, bulk_cases=args.bulk_cases
        )
    print(report.summary())  # noqa: T201 - the summary is this command's output
    print(f"took {time.monotonic() - started:.1f} s")  # noqa: T201
    return 1 if report.failures or report.cases < args.cases + args.bulk_cases else 0


if __name__ == "__main__":
    sys.exit(main())
