"""The operator's queries, written once: ``infra/monitoring/queries/*.kql``.

    .venv/bin/python -m scripts.monitoring          (make monitoring)

The Bicep loads the alert queries and ``infra/monitoring/alerts.json`` itself
(``loadTextContent``, ``loadJsonContent``). This script writes the two places
that cannot load a file: the workbook (``infra/monitoring/workbook.json``, its
tiles' queries copied from the files) and ``docs/operations.md`` (every
`````kusto`` block that follows a ``<!-- query: <file> -->`` line, and the
alerts table between its two markers). A test fails when either is stale.
"""

# ruff: noqa: T201 - the console is where the script reports

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "infra" / "monitoring"
QUERIES = MONITORING / "queries"
ALERTS = MONITORING / "alerts.json"
WORKBOOK = MONITORING / "workbook.json"
OPERATIONS = ROOT / "docs" / "operations.md"

# A query block of the docs: the marker names its file under infra/monitoring/queries/.
QUERY_BLOCK = re.compile(
    r"(?P<marker><!-- query: (?P<file>[\w/.-]+\.kql) -->\n)```kusto\n(?P<body>.*?)```", re.S
)
TABLE_START = "<!-- alerts table: generated from infra/monitoring/alerts.json -->\n"
TABLE_END = "<!-- end of alerts table -->\n"
SEVERITIES = {0: "critical", 1: "error", 2: "warning", 3: "informational", 4: "verbose"}
OPERATORS = {"GreaterThan": ">", "GreaterThanOrEqual": ">=", "LessThan": "<"}
TIME_PARAMETER = "TimeRange"


@dataclass(frozen=True)
class Tile:
    """One chart or table of the workbook."""

    query: str  # a file under infra/monitoring/queries/
    title: str
    visualization: str  # "timechart" or "table"


TILES = (
    Tile("workbook/requests-by-answer.kql", "Requests by status and problem", "timechart"),
    Tile("workbook/failures-by-problem.kql", "Requests and failures by problem", "table"),
    Tile(
        "workbook/upstream-time.kql",
        "Time spent on Business Central (ms, waits between attempts left out)",
        "timechart",
    ),
    Tile(
        "workbook/retries-and-throttling.kql",
        "Requests sent to Business Central, retries, throttling and waits",
        "timechart",
    ),
    Tile(
        "alerts/unknown-outcome.kql",
        "Unknown outcomes: the requests to settle (see the runbook)",
        "table",
    ),
    Tile(
        "workbook/bulk-jobs-finished.kql",
        "Finished bulk jobs: outcomes, resends, waits and duration",
        "table",
    ),
    Tile(
        "workbook/bulk-jobs-latest.kql",
        "Bulk jobs by their latest record (started: running, or stopped)",
        "table",
    ),
    Tile("workbook/instances.kql", "Instances that wrote telemetry", "timechart"),
)


def query_text(name: str) -> str:
    return (QUERIES / name).read_text(encoding="utf-8")


def alert_definitions() -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = json.loads(ALERTS.read_text(encoding="utf-8"))["alerts"]
    return alerts


# --- the workbook --------------------------------------------------------------------


def _time_range_parameter() -> dict[str, Any]:
    day_ms = 24 * 60 * 60 * 1000
    return {
        "type": 9,
        "name": "parameters",
        "content": {
            "version": "KqlParameterItem/1.0",
            "style": "pills",
            "queryType": 0,
            "resourceType": "microsoft.insights/components",
            "parameters": [
                {
                    # Workbooks want a stable id per parameter; any GUID will do.
                    "id": "6f1c1a4e-3d0b-4c55-9d8e-2b7a0f51c9e1",
                    "version": "KqlParameterItem/1.0",
                    "name": TIME_PARAMETER,
                    "label": "Time range",
                    "type": 4,
                    "isRequired": True,
                    "value": {"durationMs": day_ms},
                    "typeSettings": {
                        "allowCustom": True,
                        "selectableValues": [
                            {"durationMs": ms}
                            for ms in (
                                60 * 60 * 1000,
                                4 * 60 * 60 * 1000,
                                day_ms,
                                7 * day_ms,
                                30 * day_ms,
                            )
                        ],
                    },
                }
            ],
        },
    }


def workbook() -> dict[str, Any]:
    """The workbook's content, as ARM takes it in ``serializedData`` (once serialized)."""
    items: list[dict[str, Any]] = [
        {
            "type": 1,
            "name": "title",
            "content": {
                "json": "## Business Central payments proxy\n"
                "Each chart reads the proxy's own records (`traces`, `customDimensions`). "
                "The alerts and what to do about each are in `docs/operations.md` "
                "(Runbook) in the proxy's repository."
            },
        },
        _time_range_parameter(),
    ]
    for tile in TILES:
        items.append(
            {
                "type": 3,
                "name": Path(tile.query).stem,
                "content": {
                    "version": "KqlItem/1.0",
                    "title": tile.title,
                    "query": query_text(tile.query),
                    "size": 0,
                    "timeContextFromParameter": TIME_PARAMETER,
                    "queryType": 0,
                    "resourceType": "microsoft.insights/components",
                    "visualization": tile.visualization,
                },
            }
        )
    return {
        "version": "Notebook/1.0",
        "items": items,
        "$schema": "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/"
        "schema/workbook.json",
    }


def workbook_text() -> str:
    return json.dumps(workbook(), indent=2, ensure_ascii=False) + "\n"


# --- docs/operations.md --------------------------------------------------------------


def _duration(iso: str) -> str:
    match = re.fullmatch(r"PT(\d+)M", iso)
    if match is None:
        raise ValueError(f"not a duration in minutes: {iso}")
    return f"{match.group(1)} min"


def _fires_when(alert: dict[str, Any]) -> str:
    operator = OPERATORS[alert["operator"]]
    if alert["kind"] == "metric":
        return (
            f"{alert['condition']} (metric `{alert['metric']}`, "
            f"{alert['timeAggregation'].lower()} {operator} `MAXIMUM_INSTANCE_COUNT`)"
        )
    if alert["measure"]:
        return f"{alert['condition']} (`{alert['measure']}` {operator} {alert['threshold']})"
    return f"{alert['condition']} (any record)"


def alerts_table() -> str:
    rows = [
        "| alert | fires when | evaluated | severity | why |",
        "|---|---|---|---|---|",
    ]
    for alert in alert_definitions():
        evaluated = (
            f"every {_duration(alert['evaluationFrequency'])}, "
            f"over the last {_duration(alert['windowSize'])}"
        )
        severity = f"{alert['severity']} ({SEVERITIES[alert['severity']]})"
        rows.append(
            f"| [{alert['title']}](#{alert['name']}) | {_fires_when(alert)} | {evaluated} "
            f"| {severity} | {alert['why']} |"
        )
    return "\n".join(rows) + "\n"


def operations_text(text: str) -> str:
    """``text`` (docs/operations.md) with its query blocks and alerts table rewritten."""

    def block(match: re.Match[str]) -> str:
        return f"{match.group('marker')}```kusto\n{query_text(match.group('file'))}```"

    text = QUERY_BLOCK.sub(block, text)
    head, start, rest = text.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ValueError(f"{OPERATIONS.name} lost its alerts table markers")
    return head + TABLE_START + alerts_table() + TABLE_END + tail


def main() -> int:
    WORKBOOK.write_text(workbook_text(), encoding="utf-8")
    OPERATIONS.write_text(operations_text(OPERATIONS.read_text(encoding="utf-8")), "utf-8")
    print(f"wrote {WORKBOOK.relative_to(ROOT)} and {OPERATIONS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
