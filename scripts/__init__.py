"""The project's commands: ``make run`` (``run/``), the generators (README
table, problems page, connector), the connector lint, the fuzz runner and the
locks. Each runs with the project's own interpreter, ``.venv/bin/python -m
scripts.<name>`` (the make targets use it and create ``.venv`` first)."""

from __future__ import annotations

import importlib.util
import shlex
import sys


def _command() -> str:
    """The ``-m`` command this process was started with, arguments included."""
    argv = list(getattr(sys, "orig_argv", ()))
    if "-m" in argv:
        return shlex.join(argv[argv.index("-m") + 1 :])
    return "scripts.<name>"


# A system Python without the project's packages would fail deep in an import;
# say instead what to run.
if any(importlib.util.find_spec(name) is None for name in ("pydantic", "httpx", "jsonschema")):
    sys.exit(
        f"The project's packages are not installed for {sys.executable}. Run this with the "
        f"project's interpreter: .venv/bin/python -m {_command()} (make run, make test and "
        "make connector create .venv first; make connector also regenerates and lints the "
        "connector)."
    )
