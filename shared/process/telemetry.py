"""What operators see: log levels, one structured record per request, bulk job progress.

Every proxied request fills one :class:`RequestRecord` on its way (the route, the
answer, what Business Central said, attempts and waits, the caller's id) and
:func:`emit` writes it once, as one log line whose fields travel as structured
attributes. With Application Insights configured (``APPLICATIONINSIGHTS_CONNECTION_STRING``)
those attributes arrive as custom dimensions: :func:`install` then starts
OpenTelemetry's Azure Monitor exporter for the record loggers only, authenticated
with the managed identity. Without it nothing of OpenTelemetry is imported, so a
local run pays nothing for it; with it, the exporter is imported and started on first
use (:func:`start_exporting`: the first request or job step), not at import, so a
cold start does not wait for it before the app is indexed.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from shared.process.problems import Problem

# Records go through these loggers only; their names are what Kusto queries filter on
# when the exporter is off and the lines reach Application Insights through the host.
RECORDS_LOGGER = "bcproxy.records"
REQUESTS_LOGGER = RECORDS_LOGGER + ".requests"
JOBS_LOGGER = RECORDS_LOGGER + ".jobs"

# Libraries that log per HTTP exchange at INFO: azure-core writes a block of (redacted)
# headers for every token request, httpx a line per upstream URL. Warnings still pass.
# The proxy's own per-attempt lines are folded into the request record.
QUIET_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "azure.monitor.opentelemetry",
    "msal",
    "httpx",
    "httpcore",
    "shared.upstream.client",
)

_CLIENT_ID_RE = re.compile(r"(?:^|;)\s*ClientId=([0-9A-Fa-f-]{36})\s*(?:;|$)")

_requests_log = logging.getLogger(REQUESTS_LOGGER)
_jobs_log = logging.getLogger(JOBS_LOGGER)
_exporting = False
# What install() saw, until start_exporting() uses it: the settings the exporter needs.
_pending: dict[str, str] | None = None
_start_lock = threading.Lock()
_EXPORTER_SETTINGS = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "AZURE_CLIENT_ID",
)


@dataclass
class RequestRecord:
    """One proxied request, as operators query it. Never holds a token or a body."""

    request_id: str
    route: str
    method: str
    status: int | None = None
    problem: str | None = None
    bc_status: int | None = None
    bc_correlation_id: str | None = None
    attempts: int = 0
    wait_s: float = 0.0
    caller_id: str | None = None
    started: float = field(default_factory=time.monotonic)
    duration_ms: float | None = None

    def upstream_attempt(self, status: int | None, correlation_id: str | None) -> None:
        """One request sent to Business Central, and its status (None: no answer)."""
        self.attempts += 1
        self.bc_status = status
        if correlation_id is not None:
            self.bc_correlation_id = correlation_id

    def fields(self) -> dict[str, Any]:
        """The structured attributes (custom dimensions); unset values are left out."""
        values: dict[str, Any] = {
            "record_type": "request",
            "request_id": self.request_id,
            "route": self.route,
            "method": self.method,
        }
        for name, value in (
            ("status", self.status),
            ("problem", self.problem),
            ("bc_status", self.bc_status),
            ("bc_correlation_id", self.bc_correlation_id),
        ):
            if value is not None:
                values[name] = value
        values["attempts"] = self.attempts
        values["wait_ms"] = round(self.wait_s * 1000)
        if self.duration_ms is not None:
            values["duration_ms"] = round(self.duration_ms)
        if self.caller_id is not None:
            values["caller_id"] = self.caller_id
        return values


_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "bcproxy_request_record", default=None
)


RecordToken = contextvars.Token["RequestRecord | None"]


def begin_record(request_id: str, route: str, method: str) -> tuple[RequestRecord, RecordToken]:
    """The record of the request being handled, current for every step below it until
    :func:`end_record` (a pair of calls, not a context manager: one per request)."""
    start_exporting()  # before the request's first call upstream, which is traced
    record = RequestRecord(request_id, route, method.upper())
    return record, _current.set(record)


def end_record(token: RecordToken) -> None:
    _current.reset(token)


def current() -> RequestRecord | None:
    return _current.get()


def note_upstream_attempt(status: int | None, correlation_id: str | None) -> None:
    """Called by the Business Central client after every attempt (a no-op outside requests)."""
    record = _current.get()
    if record is not None:
        record.upstream_attempt(status, correlation_id)


def note_wait(seconds: float) -> None:
    """Called right before sleeping between attempts."""
    record = _current.get()
    if record is not None:
        record.wait_s += seconds


def note_caller(caller_id: str | None) -> None:
    record = _current.get()
    if record is not None:
        record.caller_id = caller_id


def emit(record: RequestRecord, status: int, problem: Problem | None = None) -> None:
    """Write the request's one line; its fields become custom dimensions.

    A problem Business Central caused carries BC's final status and correlation id,
    which win over what the attempts reported.
    """
    record.status = status
    record.problem = None if problem is None else problem.slug
    if problem is not None and problem.upstream is not None:
        record.bc_status = problem.upstream.status
        record.bc_correlation_id = problem.upstream.correlation_id or record.bc_correlation_id
    record.duration_ms = (time.monotonic() - record.started) * 1000
    if not _requests_log.isEnabledFor(logging.INFO):
        return
    # Built and handed over as Logger.info would, minus its walk up the stack to find
    # the caller: one per request, and the caller is always this function.
    line = _requests_log.makeRecord(
        REQUESTS_LOGGER,
        logging.INFO,
        __file__,
        _EMIT_LINE,
        "request %s: %s %s answered %s%s%s after %d attempt(s) in %.0f ms",
        (
            record.request_id,
            record.method,
            record.route,
            status,
            f" {record.problem}" if record.problem else "",
            f" (Business Central {record.bc_status})" if record.bc_status is not None else "",
            record.attempts,
            record.duration_ms,
        ),
        None,
        "emit",
        record.fields(),
    )
    _requests_log.handle(line)


_EMIT_LINE = emit.__code__.co_firstlineno


def emit_job_progress(
    job_id: str,
    done: int,
    total: int,
    counts: Mapping[str, int],
    *,
    phase: str = "progress",
    extra: Mapping[str, Any] | None = None,
) -> None:
    """One line of a bulk job: how many of ``total`` are done, by outcome.

    ``counts`` maps an outcome name (``updated``, ``failed``, ...) to how many items
    ended so; each becomes its own dimension ``count_<name>``. ``phase`` says which
    moment of the job the line reports; ``extra`` adds dimensions of that moment.
    """
    start_exporting()
    fields: dict[str, Any] = {
        "record_type": "bulk_job",
        "phase": phase,
        "job_id": job_id,
        "done": done,
        "total": total,
        "counts": json.dumps(dict(counts), sort_keys=True, separators=(",", ":")),
    }
    for name, value in counts.items():
        fields["count_" + re.sub(r"[^A-Za-z0-9_]", "_", name)] = value
    fields.update(extra or {})
    _jobs_log.info(
        "bulk job %s: %d of %d done (%s)",
        job_id if phase == "progress" else f"{job_id} {phase}",
        done,
        total,
        ", ".join(f"{name} {value}" for name, value in sorted(counts.items())) or "nothing yet",
        extra=fields,
    )


def emit_job_started(job_id: str, total: int, batches: int, max_in_flight: int) -> None:
    """The job's first line: its size, in how many batches, how many at a time."""
    emit_job_progress(
        job_id,
        0,
        total,
        {},
        phase="started",
        extra={"batches": batches, "max_in_flight": max_in_flight},
    )


def emit_job_finished(
    job_id: str,
    status: str,
    counts: Mapping[str, int],
    *,
    batches: int,
    resends: int,
    reads: int,
    throttled_waits: int,
    wait_s: float,
    duration_s: float,
    peak_in_flight: int,
) -> None:
    """The job's last line: its status, every item's outcome, and what it took.

    ``batches`` counts every ``$batch`` of updates sent (``resends`` of them sent again),
    ``reads`` the read-backs of items whose outcome was in doubt, ``throttled_waits``
    the timers a refused batch waited on before going again (``wait_s`` in all).
    """
    total = sum(counts.values())
    emit_job_progress(
        job_id,
        total,
        total,
        counts,
        phase="finished",
        extra={
            "status": status,
            "batches": batches,
            "resends": resends,
            "reads": reads,
            "throttled_waits": throttled_waits,
            "wait_ms": round(wait_s * 1000),
            "duration_ms": round(duration_s * 1000),
            "peak_in_flight": peak_in_flight,
        },
    )


def outgoing_traceparent(caller_traceparent: str | None) -> str | None:
    """The traceparent to send upstream: the current span's when OpenTelemetry runs,
    else the caller's (already checked well-formed), else none."""
    if _exporting:
        span = _current_span_traceparent()
        if span is not None:
            return span
    return caller_traceparent


def _current_span_traceparent() -> str | None:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def quiet_libraries() -> None:
    """Chatty libraries at WARNING; the proxy's own loggers keep INFO."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger(RECORDS_LOGGER).setLevel(logging.INFO)


def install(environ: Mapping[str, str]) -> bool:
    """Set the log levels; when Application Insights is configured, have the records
    exported from their first use on (see :func:`start_exporting`).

    Returns whether the records will be exported. Idempotent.
    """
    global _pending
    quiet_libraries()
    if _exporting or _pending is not None:
        return True
    if not environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip():
        return False
    _pending = {name: environ[name] for name in _EXPORTER_SETTINGS if name in environ}
    return True


def start_exporting() -> None:
    """Start the exporter that :func:`install` left pending; a no-op once started or
    when none is configured. Called as a request or a job step begins: its imports
    and set-up cost most of a cold start, and a start that serves nothing needs none."""
    global _exporting, _pending
    if _pending is None:  # every request after the first: no lock on the hot path
        return
    with _start_lock:
        # Read again under the lock: another thread may have started it meanwhile.
        settings = cast("dict[str, str] | None", _pending)
        _pending = None
        if settings is None:
            return
        try:
            _start_azure_monitor(settings)
        except Exception:
            # The records still reach the host's log; the request goes on.
            logging.getLogger(__name__).exception("the Application Insights exporter failed")
            return
        _exporting = True
        # The exporter now carries the records (with dimensions); the host would only
        # add a second, flat copy of each.
        logging.getLogger(RECORDS_LOGGER).propagate = False


def managed_identity_client_id(authentication: str) -> str | None:
    """The client id in ``ClientId=<id>;Authorization=AAD``; None if absent or not Entra."""
    if "authorization=aad" not in authentication.replace(" ", "").lower():
        return None
    match = _CLIENT_ID_RE.search(authentication)
    return match.group(1) if match else None


def _start_azure_monitor(environ: Mapping[str, str]) -> None:
    # Imported here: these packages cost most of a cold start when nobody exports.
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    # Only the App Service detector (environment variables): the VM detector would ask
    # the instance metadata endpoint at start-up, which a Flex instance does not need.
    # (The distro reads this from the process environment, hence os.environ.)
    os.environ.setdefault("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_app_service")
    authentication = environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "")
    credential = None
    if "authorization=aad" in authentication.replace(" ", "").lower():
        # The component refuses key-only ingestion: the managed identity signs every batch.
        credential = ManagedIdentityCredential(
            client_id=managed_identity_client_id(authentication)
            or environ.get("AZURE_CLIENT_ID")
            or None
        )
    configure_azure_monitor(
        connection_string=environ["APPLICATIONINSIGHTS_CONNECTION_STRING"],
        credential=credential,
        logger_name=RECORDS_LOGGER,
        # The host already reports requests and its own metrics.
        disable_metrics=True,
        # The app's outbound calls are httpx (Business Central) and the Azure SDK (the
        # identity); looking for web frameworks it does not use only slows the cold start.
        instrumentation_options={
            name: {"enabled": False}
            for name in ("django", "fastapi", "flask", "psycopg2", "requests", "urllib", "urllib3")
        },
    )


def exporting() -> bool:
    return _exporting
