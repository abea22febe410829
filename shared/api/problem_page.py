"""The HTML page behind every problem ``type`` URI, shipped with the package.

It is generated from docs/problems.md (``python -m scripts.problem_page``),
so the page and the docs cannot drift apart.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

PAGE = Path(__file__).with_name("problems.html")


@functools.cache
def problem_page() -> bytes:
    return PAGE.read_bytes()


@functools.cache
def problem_page_csp() -> str:
    """A Content-Security-Policy that lets the page show its own inline style
    and nothing else: no script, no frame around it, no form, no base URL."""
    styles = re.findall(rb"<style>(.*?)</style>", problem_page(), flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(style).digest()).decode() + "'"
        for style in styles
    )
    style_src = hashes or "'none'"
    return (
        f"default-src 'none'; style-src {style_src}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
