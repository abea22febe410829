"""Production log levels, the per-request record, bulk progress lines, traceparent."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import function_app
from shared.functions.lines import handle_payment
from shared.http.messages import CoreRequest
from shared.process import telemetry
from tests.support.fakes import (
    FakeBusinessCentral,
    Reconfigure,
    bc_error,
    bc_line,
    comment_patch,
    fresh_python,
    payment_path,
)
from tests.support.kusto import RECORD_TYPE, emitted_dimensions, unknown_dimensions
from tests.support.principals import APP_ID, V1_APP

REPO = Path(__file__).resolve().parents[3]
CALLER_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == telemetry.REQUESTS_LOGGER]


def dimensions(record: logging.LogRecord) -> dict[str, Any]:
    names = [
        *("record_type", "request_id", "route", "method", "status", "problem"),
        *("bc_status", "bc_correlation_id", "attempts", "wait_ms", "duration_ms", "caller_id"),
    ]
    return {name: getattr(record, name) for name in names if hasattr(record, name)}


# --- levels ---------------------------------------------------------------------------


def test_chatty_libraries_are_at_warning_after_the_app_is_imported() -> None:
    assert function_app.app is not None
    for name in (
        "azure.core.pipeline.policies.http_logging_policy",
        "azure.identity",
        "azure.identity.aio._credentials.managed_identity",
        "httpx",
        "httpcore.http11",
        "msal",
    ):
        logger = logging.getLogger(name)
        assert logger.getEffectiveLevel() == logging.WARNING, name
        assert not logger.isEnabledFor(logging.INFO), name
        assert logger.isEnabledFor(logging.WARNING), name
    # The records themselves stay at INFO, whatever the root level is.
    assert logging.getLogger(telemetry.REQUESTS_LOGGER).isEnabledFor(logging.INFO)


def test_levels_hold_in_a_fresh_interpreter_importing_the_app() -> None:
    # What the Functions worker does: import function_app once, in a new process.
    script = (
        "import logging, function_app\n"
        "names = ['azure.core.pipeline.policies.http_logging_policy', 'azure.identity',"
        " 'httpx', 'httpcore', 'bcproxy.records.requests']\n"
        "print([logging.getLevelName(logging.getLogger(n).getEffectiveLevel()) for n in names])\n"
        "import sys\n"
        "heavy = ('azure.monitor', 'opentelemetry.sdk', 'opentelemetry.instrumentation')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = fresh_python(script)
    assert out[0] == str(["WARNING", "WARNING", "WARNING", "WARNING", "INFO"])
    # Without Application Insights configured, neither the exporter nor the OpenTelemetry SDK
    # is loaded (the API alone comes with azure-functions-durable).
    assert out[1] == "[]"


def test_host_json_keeps_requests_warnings_and_the_record_lines() -> None:
    levels = json.loads((REPO / "host.json").read_text(encoding="utf-8"))["logging"]["logLevel"]
    assert levels["default"] == "Warning"
    assert levels["Function"] == "Warning"  # no "Executing"/"Executed" lines per invocation
    assert levels["Host.Results"] == "Information"  # the requests table
    assert levels["Function.payment.User"] == "Information"  # the app's own record line
    assert all(value in {"Warning", "Information"} for value in levels.values())


# --- the request record ----------------------------------------------------------------


async def test_one_record_per_request_with_attempts_waits_and_upstream_status(
    bc: FakeBusinessCentral, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {"code": "x"}}),
            httpx.Response(200, json=bc_line(comment="x")),
        ]
    )
    bc.responder = lambda request: next(answers)
    caplog.set_level(logging.INFO)
    # A read: retried whenever the wait fits in the (short, unit-test) budget.
    get = CoreRequest("GET", payment_path(), {"x-request-id": "req-telemetry-1"})
    response = await handle_payment(get)
    assert response.status == 200
    (record,) = request_records(caplog)
    fields = dimensions(record)
    assert fields["record_type"] == "request"
    assert fields["request_id"] == "req-telemetry-1"
    assert (fields["route"], fields["method"], fields["status"]) == ("payment", "GET", 200)
    assert (fields["attempts"], fields["bc_status"]) == (2, 200)
    assert fields["wait_ms"] == 1000  # what Retry-After asked for
    assert fields["duration_ms"] >= fields["wait_ms"]
    assert "problem" not in fields  # unset fields are left out, never sent as null
    assert "caller_id" not in fields  # function keys: no caller identity to report
    assert "req-telemetry-1" in record.getMessage()
    # The per-attempt lines are folded into the record: one INFO line for the request.
    assert [r for r in caplog.records if r.levelno == logging.INFO] == [record]


async def test_a_problem_record_carries_the_slug_and_business_centrals_correlation(
    bc: FakeBusinessCentral, caplog: pytest.LogCaptureFixture
) -> None:
    bc.responder = lambda request: bc_error(400, "BadRequest_InvalidToken", "Bad value")
    caplog.set_level(logging.INFO)
    response = await handle_payment(comment_patch())
    (record,) = request_records(caplog)
    fields = dimensions(record)
    assert fields["status"] == response.status
    assert fields["problem"] == json.loads(response.body)["type"].rsplit("#", 1)[1]
    assert fields["bc_status"] == 400
    assert fields["bc_correlation_id"] == "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert fields["attempts"] == 1


async def test_a_refused_request_has_a_record_without_upstream_fields(
    bc: FakeBusinessCentral, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    request = CoreRequest("PATCH", payment_path(), {"content-type": "application/json"}, b"{}")
    response = await handle_payment(request)
    (record,) = request_records(caplog)
    fields = dimensions(record)
    assert (fields["status"], fields["problem"]) == (response.status, "precondition-required")
    assert fields["attempts"] == 0
    assert "bc_status" not in fields
    assert bc.requests == []


async def test_entra_caller_is_recorded_by_id_only(
    reconfigure: Reconfigure, bc: FakeBusinessCentral, caplog: pytest.LogCaptureFixture
) -> None:
    await reconfigure(CALLER_AUTH="entra", ALLOWED_CALLERS=APP_ID)
    caplog.set_level(logging.INFO)
    bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    response = await handle_payment(
        comment_patch({"x-ms-client-principal": V1_APP, "authorization": bearer})
    )
    assert response.status == 200
    (record,) = request_records(caplog)
    assert dimensions(record)["caller_id"] == APP_ID
    everything = json.dumps({k: str(v) for k, v in record.__dict__.items()})
    assert "eyJ" not in everything  # neither the caller's token nor the principal


async def test_concurrent_requests_keep_their_own_records(
    bc: FakeBusinessCentral, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    caplog.set_level(logging.INFO)
    ids = [f"req-{n}" for n in range(20)]
    await asyncio.gather(*(handle_payment(comment_patch({"x-request-id": i})) for i in ids))
    records = request_records(caplog)
    assert sorted(r.request_id for r in records) == sorted(ids)  # type: ignore[attr-defined]
    assert {r.attempts for r in records} == {1}  # type: ignore[attr-defined]
    assert telemetry.current() is None


def test_attempts_outside_a_request_are_ignored() -> None:
    telemetry.note_upstream_attempt(200, None)  # a bulk activity, say
    assert telemetry.current() is None


# --- bulk job progress ---------------------------------------------------------------------


def test_job_progress_is_one_line_with_flat_dimensions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    telemetry.emit_job_progress("job-42", 150, 1000, {"succeeded": 140, "failed": 10})
    (record,) = [r for r in caplog.records if r.name == telemetry.JOBS_LOGGER]
    assert record.record_type == "bulk_job"  # type: ignore[attr-defined]
    assert (record.job_id, record.done, record.total) == ("job-42", 150, 1000)  # type: ignore[attr-defined]
    assert (record.count_succeeded, record.count_failed) == (140, 10)  # type: ignore[attr-defined]
    assert json.loads(record.counts) == {"failed": 10, "succeeded": 140}  # type: ignore[attr-defined]
    assert record.getMessage() == "bulk job job-42: 150 of 1000 done (failed 10, succeeded 140)"


# --- traceparent ---------------------------------------------------------------------------


async def test_the_callers_traceparent_reaches_business_central(bc: FakeBusinessCentral) -> None:
    await handle_payment(comment_patch({"traceparent": CALLER_TRACEPARENT}))
    assert bc.last.headers["traceparent"] == CALLER_TRACEPARENT


def test_with_opentelemetry_on_the_current_span_is_propagated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    monkeypatch.setattr(telemetry, "_exporting", True)
    with tracer.start_as_current_span("payment") as span:
        context = span.get_span_context()
        sent = telemetry.outgoing_traceparent(CALLER_TRACEPARENT)
    flags = int(context.trace_flags)
    assert sent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"
    # No current span: the caller's is still better than none.
    assert telemetry.outgoing_traceparent(CALLER_TRACEPARENT) == CALLER_TRACEPARENT
    monkeypatch.setattr(telemetry, "_exporting", False)
    assert telemetry.outgoing_traceparent(None) is None


# --- Entra authentication to Application Insights -------------------------------------------


@pytest.mark.parametrize(
    ("authentication", "client_id"),
    [
        ("ClientId=5b0c9e2a-7d3f-4a1b-8c6e-9f0a1b2c3d4e;Authorization=AAD", APP_ID),
        ("Authorization=AAD;ClientId=5b0c9e2a-7d3f-4a1b-8c6e-9f0a1b2c3d4e", APP_ID),
        ("Authorization=AAD", None),
        ("ClientId=5b0c9e2a-7d3f-4a1b-8c6e-9f0a1b2c3d4e", None),  # not Entra: no identity
        ("", None),
    ],
)
def test_managed_identity_client_id_from_the_authentication_string(
    authentication: str, client_id: str | None
) -> None:
    assert telemetry.managed_identity_client_id(authentication) == client_id


def test_install_without_application_insights_exports_nothing() -> None:
    assert telemetry.install({}) is False
    assert telemetry.install({"APPLICATIONINSIGHTS_CONNECTION_STRING": "  "}) is False
    assert logging.getLogger(telemetry.RECORDS_LOGGER).propagate is True


# --- the Kusto queries in docs/operations.md -----------------------------------------------


def test_the_kusto_queries_read_only_dimensions_the_records_carry() -> None:
    dimensions = emitted_dimensions()
    assert {"phase", "status", "count_unknown", "throttled_waits", "duration_ms"} <= dimensions[
        "bulk_job"
    ]
    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    queries = re.findall(r"```kusto\n(.*?)```", text, flags=re.DOTALL)
    assert len(queries) >= 10
    for query in queries:
        assert unknown_dimensions(query, dimensions) == set(), query
    # Every query names one record type, except those that read none of a type's own
    # dimensions: one request by id, the error lines, the instances.
    untyped = {query for query in queries if not RECORD_TYPE.search(query)}
    queries_dir = REPO / "infra" / "monitoring" / "queries"
    assert untyped == {
        (queries_dir / name).read_text(encoding="utf-8")
        for name in (
            "runbook/find-request.kql",
            "runbook/settings-errors.kql",
            "workbook/instances.kql",
        )
    }


def test_the_dimension_check_finds_what_no_record_carries() -> None:
    dimensions = emitted_dimensions()
    request_query = 'traces | where customDimensions.record_type == "request"'
    assert unknown_dimensions(request_query + " | project customDimensions.job_id", dimensions)
    assert unknown_dimensions(request_query + ' | project customDimensions["x"]', dimensions)
    assert unknown_dimensions(
        'traces | where customDimensions.record_type == "requests"', dimensions
    )
    assert not unknown_dimensions(request_query + " | project customDimensions.status", dimensions)
