# The README's two commands: `make run` and `make test`. Both work on a fresh
# Linux machine with Python 3.11: they create .venv and install pinned packages.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest infra-check lock lock-verify lock-check bench fuzz connector \
	monitoring preflight smoke clean

# Installed from the dev lock (every package pinned, with hashes); a new lock reinstalls.
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m scripts.run

test: lint typecheck lock-verify pytest infra-check

# requirements.txt (deployed) and requirements-dev.txt from their .in files; edit those.
lock: $(STAMP)
	$(BIN)/python -m scripts.locks write

# Offline, decided by the repository alone: the environment is consistent and exactly the
# dev lock, every input requirement is met by a hashed pin, the dev lock holds the runtime's.
lock-verify: $(STAMP)
	$(BIN)/python -m pip check
	$(BIN)/python -m scripts.locks verify

# Asks the package index: each lock is exactly what its input resolves to today. Not part
# of `make test`, since the index's answer can move while the repository does not.
lock-check: $(STAMP)
	$(BIN)/python -m scripts.locks check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

# schemathesis against the local host and the sandbox, from /api/openapi.json:
# at least 2,000 cases (FUZZ_CASES), a summary at the end, exit 1 on any failure.
FUZZ_CASES ?= 2000
fuzz: $(STAMP)
	$(BIN)/python -m scripts.fuzz --cases $(FUZZ_CASES)

# The Power Platform custom connector, generated from the route table and the
# payment models (a test fails when the committed files are stale), then linted.
connector: $(STAMP)
	$(BIN)/python -m scripts.connector
	$(BIN)/python -m scripts.connector --auth entra
	$(BIN)/python -m scripts.connector_lint

# The workbook and docs/operations.md's queries and alerts table, from the query files in
# infra/monitoring/ (a test fails when the committed copies are stale).
monitoring: $(STAMP)
	$(BIN)/python -m scripts.monitoring

# Before `azd provision` (azd also runs it as azure.yaml's preprovision hook): azd, Azure
# CLI and Bicep versions, the signed-in account's rights, the region, the job secret.
preflight:
	$(SMOKE_PYTHON) -m scripts.preflight

# A deployed proxy, read-only unless WRITE=1 (docs/deploy.md, "Smoke test"). Standard
# library only, so any Python 3.9+ runs it. KEY is a host key; with Entra callers give
# TOKEN instead. COMPANY, JOURNAL and PAYMENT add the reads (and the write).
SMOKE_PYTHON ?= python3
URL ?=
KEY ?=
TOKEN ?=
COMPANY ?=
JOURNAL ?=
PAYMENT ?=
WRITE ?=
smoke:
	@test -n "$(URL)" || { echo "usage: make smoke URL=https://<app>.azurewebsites.net KEY=<host key> [COMPANY=.. JOURNAL=.. PAYMENT=..] [WRITE=1]"; exit 2; }
	@# The key or token goes by the environment: never echoed, never in the process list.
	@SMOKE_KEY="$(KEY)" SMOKE_TOKEN="$(TOKEN)" $(SMOKE_PYTHON) -m scripts.smoke --url "$(URL)" \
		$(if $(COMPANY),--company "$(COMPANY)") $(if $(JOURNAL),--journal "$(JOURNAL)") \
		$(if $(PAYMENT),--payment "$(PAYMENT)") $(if $(WRITE),--write)

infra-check: $(STAMP)
	bash scripts/check-infra.sh

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .mypy_cache .ruff_cache
