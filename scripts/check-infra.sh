#!/usr/bin/env bash
# Static checks of the Bicep in infra/ with checkov (no Azure, no Bicep CLI needed).
#
# checkov lives in its own venv (.venv-checkov): it pins its own pycep-parser, older than the
# one the project's tests use. checkov exits 0 when a file fails to parse, so the verdict is
# taken from its JSON summary: any failed check or parsing error fails this script.
# Skipped checks are justified inline (#checkov:skip=...) and listed in infra/CHECKOV-SKIPS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV=.venv-checkov
REQUIREMENTS=infra/requirements-checkov.txt
STAMP="$VENV/.installed"

# Files checkov's parser cannot read (the Microsoft Graph `extension` keyword); the pytest
# suite parses them with the newer pycep-parser instead. See infra/CHECKOV-SKIPS.md.
UNREADABLE_BY_CHECKOV='infra/app/bc-app-role.bicep'

if [[ ! -f "$STAMP" || "$REQUIREMENTS" -nt "$STAMP" ]]; then
    echo "check-infra: installing checkov into $VENV (first run only)"
    log="$(mktemp)"
    if ! { "$PYTHON" -m venv "$VENV" &&
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            --require-hashes -r "$REQUIREMENTS"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "check-infra: FAILED to install checkov" >&2
        exit 1
    fi
    rm -f "$log"
    touch "$STAMP"
fi
"$VENV/bin/python" -m pip check >/dev/null || {
    echo "check-infra: $VENV is inconsistent: remove it and run again" >&2
    exit 1
}

report="$(mktemp)"
trap 'rm -f "$report"' EXIT

# --compact and --quiet only shorten the console form; the JSON keeps every result.
"$VENV/bin/checkov" --framework bicep --directory infra --output json \
    --skip-path "$UNREADABLE_BY_CHECKOV" --download-external-modules false \
    --skip-download >"$report" || true

"$VENV/bin/python" - "$report" <<'PY'
"""Read checkov's JSON report and decide; checkov's own exit code is not enough."""

import json
import sys

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
except (OSError, ValueError) as error:
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = handle.read(2000)
    print(f"check-infra: checkov gave no JSON report ({error}):\n{head}", file=sys.stderr)
    sys.exit(1)

# One framework gives a dict; several (or none found) give a list or an empty summary.
reports = data if isinstance(data, list) else [data]
totals = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
failed_checks = []
skipped_checks = []
unparsed_files = []
for report in reports:
    summary = report.get("summary", {})
    for key in totals:
        totals[key] += int(summary.get(key, 0) or 0)
    results = report.get("results", {})
    failed_checks += results.get("failed_checks", [])
    skipped_checks += results.get("skipped_checks", [])
    unparsed_files += results.get("parsing_errors", [])

for file_path in unparsed_files:
    print(f"UNPARSED {file_path}", file=sys.stderr)
for check in failed_checks:
    print(
        f"FAILED {check.get('check_id')} {check.get('check_name')}\n"
        f"       {check.get('file_path')} {check.get('resource')}",
        file=sys.stderr,
    )
for check in skipped_checks:
    reason = (check.get("check_result") or {}).get("suppress_comment", "")
    print(f"skipped {check.get('check_id')} on {check.get('resource')}: {reason}")

print(
    "check-infra: checkov summary: passed={passed} failed={failed} skipped={skipped} "
    "parsing_errors={parsing_errors} resources={resource_count}".format(**totals)
)
if totals["parsing_errors"]:
    print("check-infra: FAILED: checkov could not parse some Bicep files", file=sys.stderr)
    sys.exit(1)
if totals["failed"]:
    print("check-infra: FAILED: checkov checks failed", file=sys.stderr)
    sys.exit(1)
if totals["passed"] == 0:
    print("check-infra: FAILED: checkov ran no check (nothing found in infra/?)", file=sys.stderr)
    sys.exit(1)
PY
