"""What the deployment ships: .funcignore applied to the repository's tracked files.

Two tools read .funcignore. azd (``azd deploy``) uses gitignore semantics, which git itself
evaluates here; Core Tools (``func azure functionapp publish``) uses a simpler matcher of its
own, ported below: a path is left out when it starts with a match of any ``pattern`` line
and of no ``!pattern`` line (order does not matter, and nothing is anchored at the end).
Both must ship exactly the app: function_app.py, host.json, requirements.txt and shared/.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCIGNORE = REPO / ".funcignore"
_SPECIAL = re.compile(r"[\-\[\]/{}()+?.\\^$|]")


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [name for name in out.decode().split("\0") if name]


def expected_package(files: list[str]) -> set[str]:
    top = {"function_app.py", "host.json", "requirements.txt"}
    return {name for name in files if name in top or name.startswith("shared/")}


def _core_tools_pattern(line: str) -> str:
    return (
        _SPECIAL.sub(lambda m: "\\" + m.group(0), line)
        .replace("**", "(.+)")
        .replace("*", "([^/]+)")
    )


class CoreToolsIgnore:
    """Core Tools' GitIgnoreParser, as it decides ``Denies(path)``."""

    def __init__(self, text: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in text.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            target = positive
            if line.startswith("!"):
                target, line = negative, line[1:]
            target.append(_core_tools_pattern(line.removeprefix("/")))
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern[str]:
        if not patterns:
            return re.compile(r"$^")
        return re.compile("^((" + ")|(".join(patterns) + "))")

    def denies(self, path: str) -> bool:
        return not (self._negative.match(path) or not self._positive.match(path))


def test_core_tools_matcher_behaves_like_core_tools() -> None:
    # Prefix matching, negation winning regardless of order, "*" within one segment.
    ignore = CoreToolsIgnore("tests\n!tests/keep.py\n*.md\n# comment\n/infra")
    assert ignore.denies("tests/unit/test_x.py")
    assert ignore.denies("tests_extra/a.py")  # no end anchor: a prefix is enough
    assert not ignore.denies("tests/keep.py")
    assert ignore.denies("README.md")
    assert ignore.denies("infra/main.bicep")
    assert not ignore.denies("shared/lines/single.py")


def test_core_tools_publish_ships_only_the_app() -> None:
    files = tracked_files()
    ignore = CoreToolsIgnore(FUNCIGNORE.read_text(encoding="utf-8"))
    shipped = {name for name in files if not ignore.denies(name)}
    assert shipped == expected_package(files)


def test_azd_deploy_ships_only_the_app() -> None:
    files = tracked_files()
    ignored = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--ignored", f"--exclude-from={FUNCIGNORE}"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    shipped = set(files) - {name for name in ignored.split("\0") if name}
    assert shipped == expected_package(files)


def test_the_package_has_the_entry_point_and_the_core() -> None:
    package = expected_package(tracked_files())
    assert {"function_app.py", "host.json", "requirements.txt", "shared/lines/single.py"} <= package
    assert not [name for name in package if name.startswith(("tests/", "sandbox/", "funchost/"))]
