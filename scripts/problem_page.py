"""Render docs/problems.md as the HTML page the app serves at /api/problems.

``python -m scripts.problem_page`` rewrites ``shared/api/problems.html``; a test
fails when the page and the Markdown disagree. The docs folder is not
deployed, so the page travels inside the package it documents. Only the
Markdown this one file uses is understood: headings, paragraphs, tables,
``code``, **bold** and [links](url).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "problems.md"
PAGE = ROOT / "shared" / "api" / "problems.html"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}code{background:#f2f2f2;padding:0 .2em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
    "text-align:left}h2{margin-top:2rem;border-bottom:1px solid #ddd}:target{background:#fff8d6}"
)


def _inline(text: str) -> str:
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        escaped = html.escape(part, quote=False)
        escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
        escaped = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', escaped)
        out.append(escaped)
    return "".join(out)


def _table(rows: list[str]) -> str:
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]
    head, body = cells[0], cells[2:]
    lines = ["<table>", "<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"]
    lines += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join([*lines, "</table>"])


def render(markdown: str) -> str:
    blocks = re.split(r"\n\s*\n", markdown.strip())
    body = []
    title = "Problems"
    for block in blocks:
        if block.startswith("# "):
            title = block[2:].strip()
            body.append(f"<h1>{html.escape(title)}</h1>")
        elif block.startswith("## "):
            slug = block[3:].strip()
            body.append(
                f'<h2 id="{html.escape(slug)}"><a href="#{html.escape(slug)}">{slug}</a></h2>'
            )
        elif block.lstrip().startswith("|"):
            body.append(_table(block.strip().splitlines()))
        else:
            body.append(f"<p>{_inline(' '.join(block.split()))}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def main() -> int:
    PAGE.write_text(render(SOURCE.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
