"""The HTML page behind every problem ``type`` URI, shipped with the package.

It is generated from docs/problems.md (``python -m scripts.problem_page``),
so the page and the docs cannot drift apart.
"""

from __future__ import annotations

import functools
from pathlib import Path

PAGE = Path(__file__).with_name("problems.html")


@functools.cache
def problem_page() -> bytes:
    return PAGE.read_bytes()
