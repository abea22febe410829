"""The custom dimensions the proxy's records carry, and the ones a Kusto query reads.

Used by the checks of the docs' queries (tests/unit/process/test_telemetry.py) and of
the deployed ones (tests/infra/test_monitoring.py): a query that reads a dimension no
record carries finds nothing, silently, and an alert on it never fires.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from shared.process import telemetry
from shared.process.problems import Problem

QUERIES = Path(__file__).resolve().parents[2] / "infra" / "monitoring" / "queries"
RECORD_TYPE = re.compile(r'customDimensions\.record_type == "(\w+)"')
DIMENSION = re.compile(r"customDimensions\.(\w+)")
# customDimensions["x"] or customDimensions['x'] would escape the check above.
INDEXED = re.compile(r"customDimensions\s*\[")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def emitted_dimensions() -> dict[str, set[str]]:
    """Every dimension each record type can carry, as the code writes it."""
    logger = logging.getLogger(telemetry.RECORDS_LOGGER)
    capture = _Capture()
    level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        request = telemetry.RequestRecord("r", "payment", "PATCH", caller_id="c")
        request.upstream_attempt(503, "bc-correlation")
        telemetry.emit(request, 504, Problem("upstream-timeout", "no answer"))
        telemetry.emit_job_started("job-1", 3, 1, 2)
        telemetry.emit_job_finished(
            "job-1",
            "Completed",
            {"updated": 3, "failed": 0, "unknown": 0},
            batches=1,
            resends=0,
            reads=0,
            throttled_waits=0,
            wait_s=0,
            duration_s=1.5,
            peak_in_flight=1,
        )
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    plain = set(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None).__dict__)
    found: dict[str, set[str]] = {}
    for record in capture.records:
        kind = record.__dict__["record_type"]
        found.setdefault(kind, set()).update(set(record.__dict__) - plain)
    return found


def unknown_dimensions(query: str, emitted: dict[str, set[str]]) -> set[str]:
    """The dimensions ``query`` reads that its records do not carry.

    A query that names a record type reads that type's dimensions; one that names none
    (one request by id) may read any dimension some record carries.
    """
    if INDEXED.search(query):
        return {"customDimensions[...] (write customDimensions.name)"}
    kinds = set(RECORD_TYPE.findall(query))
    if len(kinds) > 1:
        return {f"record types {sorted(kinds)} in one query"}
    if not kinds:
        carried = set().union(*emitted.values())
    else:
        kind = kinds.pop()
        if kind not in emitted:
            return {f"record type {kind}"}
        carried = emitted[kind]
    return set(DIMENSION.findall(query)) - carried


def deployed_reads(record_type: str) -> set[str]:
    """Every dimension the deployed queries (alerts, workbook, runbook) read of one
    record type."""
    read: set[str] = set()
    for path in sorted(QUERIES.rglob("*.kql")):
        query = path.read_text(encoding="utf-8")
        if record_type in RECORD_TYPE.findall(query):
            read |= set(DIMENSION.findall(query))
    return read
