"""docs/deploy.md says what the tools check: the minimum versions the preflight holds,
how to compile the Bicep first, and, last, the smoke test with the checks the script
runs."""

from __future__ import annotations

import re

from scripts import preflight, smoke
from tests.support.bicep import REPO

DEPLOY = REPO / "docs" / "deploy.md"


def shown(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def test_the_minimum_versions_are_the_ones_the_preflight_checks() -> None:
    # Lines wrap anywhere: compare with single spaces.
    text = " ".join(DEPLOY.read_text(encoding="utf-8").split())
    assert f"(`azd`) **{shown(preflight.MIN_AZD)} or later**" in text
    assert f"(`az`) **{shown(preflight.MIN_AZ)} or later**" in text
    assert f"**Bicep {shown(preflight.MIN_BICEP)}**" in text
    assert "az bicep build --file infra/main.bicep" in text


def test_the_guide_ends_with_the_smoke_test_and_names_each_of_its_checks() -> None:
    text = DEPLOY.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[-1] == "Smoke test of a live deployment"
    section = text.split("## Smoke test of a live deployment", 1)[1]
    target = smoke.Target("https://example.invalid", key="k", company="c", journal="j", payment="p")
    names = [name for name, _ in smoke.plan(target, write=True)]
    assert len(names) == 8
    rows = re.findall(r"^\| ([^|]+) \|", section, flags=re.M)[1:]
    # The docs' rows, in the script's order, with the header's backticks as the script
    # has none.
    assert [row.replace("`", "") for row in rows] == [
        name.replace("dot-dot paths from anonymous routes", "dot-dot paths") for name in names
    ]
