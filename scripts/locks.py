"""Write or check the lock files: requirements.txt and requirements-dev.txt.

Each lock is produced from its input (requirements.in, requirements-dev.in) by
``uv pip compile --generate-hashes``: every transitive package, an exact version and
the hashes of its files. The resolution is pinned in time (``EXCLUDE_NEWER``: only
releases uploaded before it count), so it is reproducible: resolving the same input
again gives the same lock, byte for byte, which is what ``check`` verifies.

    python -m scripts.locks write   # make lock
    python -m scripts.locks check   # part of make test (needs PyPI)
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Move this date forward (and run `make lock`) to take newer releases.
EXCLUDE_NEWER = "2026-12-01T00:00:00Z"
# The platform Azure Functions runs the app on: Linux x86_64, CPython 3.11.
PYTHON_VERSION = "3.11"
PYTHON_PLATFORM = "x86_64-manylinux_2_28"


@dataclass(frozen=True)
class Lock:
    source: str
    output: str


# Runtime first: the dev input is constrained by the runtime lock.
LOCKS = (
    Lock("requirements.in", "requirements.txt"),
    Lock("requirements-dev.in", "requirements-dev.txt"),
)


def uv() -> str:
    """The uv installed next to this interpreter (it is pinned in requirements-dev.in)."""
    candidate = Path(sys.executable).parent / "uv"
    return str(candidate) if candidate.exists() else "uv"


def compile_lock(lock: Lock, output: Path) -> None:
    # The arguments are this module's constants and the repository's own file names.
    subprocess.run(  # noqa: S603
        [
            uv(),
            "pip",
            "compile",
            lock.source,
            "--output-file",
            str(output),
            "--generate-hashes",
            "--python-version",
            PYTHON_VERSION,
            "--python-platform",
            PYTHON_PLATFORM,
            "--exclude-newer",
            EXCLUDE_NEWER,
            "--custom-compile-command",
            "make lock",
            "--quiet",
        ],
        cwd=REPO,
        check=True,
    )


def without_header(text: str) -> list[str]:
    """The lock's lines after its leading comment block (the tool's header)."""
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        start += 1
    return lines[start:]


def write() -> int:
    for lock in LOCKS:
        compile_lock(lock, REPO / lock.output)
        sys.stdout.write(f"wrote {lock.output} from {lock.source}\n")
    return 0


def check() -> int:
    """Resolve every input again into a temporary file; 1 when a lock differs."""
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for lock in LOCKS:
            fresh = Path(tmp) / lock.output
            compile_lock(lock, fresh)
            committed = without_header((REPO / lock.output).read_text(encoding="utf-8"))
            resolved = without_header(fresh.read_text(encoding="utf-8"))
            if committed != resolved:
                stale.append(lock)
                diff = difflib.unified_diff(
                    committed, resolved, lock.output, f"{lock.source} resolved", lineterm=""
                )
                sys.stderr.write("\n".join(list(diff)[:60]) + "\n")
    for lock in stale:
        sys.stderr.write(f"{lock.output} is not what {lock.source} resolves to: run `make lock`\n")
    if not stale:
        sys.stdout.write(f"locks: {', '.join(lock.output for lock in LOCKS)} match their inputs\n")
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("write", "check"))
    args = parser.parse_args(argv)
    return write() if args.command == "write" else check()


if __name__ == "__main__":
    sys.exit(main())
