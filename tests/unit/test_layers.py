"""The core's packages import only what their docstrings allow, and nothing
imports in a circle; every module says first what it owns, every package names
its modules, and the modules a reader walks through (the core and the stand-ins)
keep no section header over nothing and stay about 400 lines at most; every core
module has a unit test module of its own; tests share their helpers through
tests/support only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
PACKAGES = sorted(p.name for p in SHARED.iterdir() if (p / "__init__.py").is_file())
# Top to bottom. A package imports only packages of the layers below its own, so the
# packages of one layer never import each other: the HTTP edge callers reach and
# Business Central behind it are siblings, as are the capabilities.
LAYERS = (
    ("functions",),
    ("api",),
    ("lines", "bulk"),
    ("http", "upstream"),
    ("payment",),
    ("process",),
)


def allowed(package: str) -> set[str]:
    doc = ast.get_docstring(ast.parse((SHARED / package / "__init__.py").read_text())) or ""
    match = re.search(r"May import: (.*?)(?:\n\n|$)", doc, re.S)
    assert match, f"shared/{package}/__init__.py does not say what it may import"
    return set(re.findall(r"``shared\.(\w+)``", match.group(1)))


def imported(package: str) -> dict[str, set[str]]:
    """For each module of ``package``: the other core packages it imports."""
    found: dict[str, set[str]] = {}
    for path in (SHARED / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] == "shared" and len(parts) > 1 and parts[1] != package:
                    names.add(parts[1])
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "shared" and len(parts) > 1 and parts[1] != package:
                        names.add(parts[1])
        found[str(path.relative_to(SHARED))] = names
    return found


def test_the_core_is_packages_only() -> None:
    assert sorted(p.name for p in SHARED.glob("*.py")) == ["__init__.py"]
    assert set(PACKAGES) == {
        "api",
        "bulk",
        "functions",
        "http",
        "lines",
        "payment",
        "process",
        "upstream",
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_what_it_says(package: str) -> None:
    may = allowed(package)
    assert may <= set(PACKAGES) - {package}
    for module, names in imported(package).items():
        assert names <= may, f"shared/{module} imports {sorted(names - may)}"


def test_a_package_imports_only_the_layers_below_its_own() -> None:
    layer = {package: n for n, names in enumerate(LAYERS) for package in names}
    assert sorted(layer) == PACKAGES
    for package in PACKAGES:
        for other in allowed(package):
            assert layer[other] > layer[package], f"shared/{package} may not import {other}"


def test_the_packages_import_in_one_direction() -> None:
    graph = {package: allowed(package) for package in PACKAGES}
    seen: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, " -> ".join((*path, package))
        if package in seen:
            return
        for other in graph[package]:
            visit(other, (*path, package))
        seen.add(package)

    for package in PACKAGES:
        visit(package, ())


def test_only_the_bindings_import_the_functions_packages() -> None:
    for package in PACKAGES:
        if package == "functions":
            continue
        for path in (SHARED / package).rglob("*.py"):
            text = path.read_text()
            assert "import azure.functions" not in text, path
            assert "azure.durable_functions" not in text, path


MODULES = sorted(SHARED.rglob("*.py"))
# The app and the stand-ins: modules a reader walks through.
WALKED = sorted(p for top in ("shared", "funchost", "sandbox") for p in (ROOT / top).rglob("*.py"))
# About 400 lines: a module that grows past it holds more than one thing.
MAX_LINES = 420


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_every_module_says_first_what_it_owns(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc, f"{_name(path)} has no docstring"
    assert "to be described" not in doc.lower()


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_names_each_of_its_modules(package: str) -> None:
    doc = ast.get_docstring(ast.parse((SHARED / package / "__init__.py").read_text())) or ""
    for path in (SHARED / package).glob("*.py"):
        if path.stem != "__init__":
            assert f"``{path.stem}``" in doc or f":mod:`.{path.stem}`" in doc, path.stem


@pytest.mark.parametrize("path", WALKED, ids=_name)
def test_a_section_header_heads_a_section(path: Path) -> None:
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    for number, line in enumerate(lines):
        if line.startswith("# ---"):
            following = lines[number + 1] if number + 1 < len(lines) else None
            assert following is not None, f"{_name(path)} ends with {line!r}"
            assert not following.startswith("# ---"), f"{_name(path)}: {line!r} heads nothing"


@pytest.mark.parametrize("path", WALKED, ids=_name)
def test_a_module_stays_readable_in_one_sitting(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_tests_share_helpers_through_tests_support_only() -> None:
    """A conftest holds fixtures and a test module holds tests: neither is imported as
    a library (by a test, a benchmark or a script); shared helpers live in tests/support."""
    for top in ("tests", "bench", "scripts"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    parts = node.module.split(".")
                    if parts[0] == "tests" and len(parts) > 1:
                        assert parts[1] == "support", f"{_name(path)} imports {node.module}"


def test_every_core_module_has_a_test_module_of_its_own() -> None:
    missing = [
        str(path.relative_to(SHARED))
        for path in sorted(SHARED.glob("*/*.py"))
        if path.name != "__init__.py"
        and not (ROOT / "tests" / "unit" / path.parent.name / f"test_{path.name}").is_file()
    ]
    assert missing == []
