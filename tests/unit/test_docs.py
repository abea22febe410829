"""The docs cover what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from shared.process.problems import PROBLEM_TYPES

ROOT = Path(__file__).resolve().parents[2]


def test_every_problem_has_a_section_with_its_status() -> None:
    text = (ROOT / "docs" / "problems.md").read_text()
    sections = dict(re.findall(r"^## ([a-z-]+)\n\n\*\*(\d{3})\.\*\*", text, flags=re.M))
    assert {slug: int(status) for slug, status in sections.items()} == {
        slug: t.status for slug, t in PROBLEM_TYPES.items()
    }


def test_readme_property_table_is_generated_from_the_models() -> None:
    from scripts.fields_table import README, replaced

    text = README.read_text()
    assert replaced(text) == text, "run: .venv/bin/python -m scripts.fields_table"


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line.split("#")[0].strip() for line in lines[:6] if line.startswith("make ")]
    assert commands == ["make run", "make test"]
