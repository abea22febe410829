"""The problems page every problem type points at: generated from docs/problems.md."""

from __future__ import annotations

from scripts.problem_page import PAGE, SOURCE, render


def test_problems_page_is_generated_from_the_docs() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(SOURCE.read_text(encoding="utf-8")), (
        "run: python -m scripts.problem_page"
    )
