"""Write, verify or re-resolve the lock files: requirements.txt and requirements-dev.txt.

Each lock is produced from its input (requirements.in, requirements-dev.in) by
``uv pip compile --generate-hashes``: every transitive package, an exact version and
the hashes of its files. The resolution is pinned in time (``EXCLUDE_NEWER``: only
releases uploaded before it count).

``verify`` reads only the repository and the installed environment, so its verdict
changes only when they do; it is part of ``make test``. ``check`` resolves every input
again against the package index and compares: an index can report a release or its
upload time differently from one week to the next, so that verdict can change while
the repository does not, and it stays out of ``make test``.

    python -m scripts.locks write    # make lock
    python -m scripts.locks verify   # make lock-verify (part of make test, offline)
    python -m scripts.locks check    # make lock-check (asks the index)
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[1]
# Move this date forward (and run `make lock`) to take newer releases.
EXCLUDE_NEWER = "2026-12-01T00:00:00Z"
# The platform Azure Functions runs the app on: Linux x86_64, CPython 3.11.
PYTHON_VERSION = "3.11"
PYTHON_PLATFORM = "x86_64-manylinux_2_28"
# The same platform as environment markers, for reading an input's conditional lines.
TARGET_MARKERS = {
    "python_version": PYTHON_VERSION,
    "python_full_version": f"{PYTHON_VERSION}.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "os_name": "posix",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
}
# What `python -m venv` puts in every environment before the lock is installed.
VENV_BOOTSTRAP = frozenset({"pip", "setuptools"})


@dataclass(frozen=True)
class Lock:
    source: str
    output: str


RUNTIME = Lock("requirements.in", "requirements.txt")
DEV = Lock("requirements-dev.in", "requirements-dev.txt")
# checkov has a virtual environment of its own (scripts/check-infra.sh).
CHECKOV = Lock("infra/requirements-checkov.in", "infra/requirements-checkov.txt")
# Runtime first: the dev input is constrained by the runtime lock.
LOCKS = (RUNTIME, DEV, CHECKOV)


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
            fresh = Path(tmp) / Path(lock.output).name
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


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: int


_PIN_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
_HASH_LINE = re.compile(r"^--hash=sha256:[0-9a-f]{64}\s*\\?$")


def read_lock(text: str, name: str) -> tuple[dict[str, Pin], list[str]]:
    """Every pin of a lock (canonical name -> version and hash count), and what is malformed.

    A lock holds exact pins, each followed by its hashes, and comments; anything else
    (a range, a URL, an option) is reported rather than guessed at.
    """
    pins: dict[str, Pin] = {}
    problems: list[str] = []
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pin = _PIN_LINE.match(line)
        if pin:
            current = canonicalize_name(pin["name"])
            if current in pins:
                problems.append(f"{name}:{number}: {current} is pinned twice")
            pins[current] = Pin(pin["version"], 0)
        elif _HASH_LINE.match(stripped) and current is not None:
            pins[current] = Pin(pins[current].version, pins[current].hashes + 1)
        else:
            problems.append(f"{name}:{number}: not an exact pin or a sha256 hash: {stripped!r}")
    problems += [
        f"{name}: {pkg}=={pin.version} has no hash" for pkg, pin in pins.items() if not pin.hashes
    ]
    return pins, problems


def read_input(path: Path) -> list[Requirement]:
    """The requirements an input file asks for, following ``-r`` (``-c`` only constrains)."""
    found: list[Requirement] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            found += read_input(path.parent / line.split(maxsplit=1)[1])
        elif line.startswith(("-c ", "--constraint ")):
            continue
        else:
            try:
                found.append(Requirement(line))
            except InvalidRequirement as error:
                raise ValueError(f"{path.name}: {line!r} is not a requirement: {error}") from error
    return found


def unsatisfied(
    requirements: Iterable[Requirement], pins: Mapping[str, Pin], name: str
) -> list[str]:
    """The input's requirements (for the target platform) that no pin of the lock satisfies."""
    problems = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate(TARGET_MARKERS):
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{name}: {requirement} is not pinned")
            continue
        try:
            allowed = requirement.specifier.contains(Version(pin.version), prereleases=True)
        except InvalidVersion:
            allowed = False
        if not allowed:
            problems.append(
                f"{name}: {requirement.name}=={pin.version} does not satisfy {requirement}"
            )
    return problems


def disagreements(runtime: Mapping[str, Pin], dev: Mapping[str, Pin]) -> list[str]:
    """Runtime packages the dev lock lacks or pins at another version: tests must run Azure's."""
    return [
        f"{pkg}: requirements.txt pins {pin.version}, requirements-dev.txt "
        f"{dev[pkg].version if pkg in dev else 'nothing'}"
        for pkg, pin in runtime.items()
        if pkg not in dev or dev[pkg].version != pin.version
    ]


def installed_mismatches(pins: Mapping[str, Pin], installed: Mapping[str, str]) -> list[str]:
    """How the installed distributions differ from the lock, either way."""
    problems = [
        f"{pkg}=={pin.version} is locked but "
        + (f"{installed[pkg]} is installed" if pkg in installed else "not installed")
        for pkg, pin in pins.items()
        if installed.get(pkg) != pin.version
    ]
    problems += [
        f"{pkg}=={version} is installed but not locked"
        for pkg, version in installed.items()
        if pkg not in pins and pkg not in VENV_BOOTSTRAP
    ]
    return problems


def installed_distributions() -> dict[str, str]:
    return {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
    }


def verify(repo: Path = REPO, installed: Mapping[str, str] | None = None) -> list[str]:
    """Everything about the locks that the repository alone decides; no package index asked.

    ``installed`` is the environment to hold against the dev lock (the running one when
    omitted).
    """
    problems: list[str] = []
    pins: dict[str, dict[str, Pin]] = {}
    for lock in LOCKS:
        pins[lock.output], malformed = read_lock(
            (repo / lock.output).read_text(encoding="utf-8"), lock.output
        )
        problems += malformed
        problems += unsatisfied(read_input(repo / lock.source), pins[lock.output], lock.output)
    problems += disagreements(pins[RUNTIME.output], pins[DEV.output])
    problems += installed_mismatches(
        pins[DEV.output], installed_distributions() if installed is None else installed
    )
    return problems


def verify_command() -> int:
    problems = verify()
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    if problems:
        sys.stderr.write("locks: the locks or the installed environment are not consistent\n")
        return 1
    sys.stdout.write(
        "locks: every input satisfied by a hashed pin, the dev lock holds the runtime "
        "versions, the environment is exactly the dev lock\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("write", "verify", "check"))
    args = parser.parse_args(argv)
    commands = {"write": write, "verify": verify_command, "check": check}
    return commands[args.command]()


if __name__ == "__main__":
    sys.exit(main())
