"""The sample browser page (``examples/web``) as ``make run`` serves it: on its
own origin, its config block naming the proxy."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from scripts.run.settings import StartupError

WEB_ROOT = Path(__file__).resolve().parents[2] / "examples" / "web"

# The page's config block, as index.html ships it; the served copy names this proxy.
_CONFIG_RE = re.compile(r'("apiBase":\s*)"[^"]*"')


def configured_page(api_base: str, root: Path = WEB_ROOT) -> bytes:
    """index.html with ``apiBase`` set, as a deployment writes its config block:
    the page takes its proxy from there (or its own origin), never from its URL."""
    html = (root / "index.html").read_text(encoding="utf-8")
    configured, count = _CONFIG_RE.subn(lambda m: f"{m.group(1)}{json.dumps(api_base)}", html)
    if count != 1:
        raise StartupError("examples/web/index.html has no apiBase in its config block")
    return configured.encode()


def web_app(api_base: str, root: Path = WEB_ROOT) -> Starlette:
    """The sample browser page on its own origin, configured for ``api_base``."""
    page = configured_page(api_base, root)

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/index.html", index),
            Mount("/", app=StaticFiles(directory=root, html=True)),
        ]
    )


def page_url(web_url: str, ids: Sequence[str] | None) -> str:
    """The page, with the ids of a line to open (the proxy is in its config)."""
    if ids is None:
        return f"{web_url}/"
    query = dict(zip(("company", "journal", "payment"), ids, strict=True))
    return f"{web_url}/?{urlencode(query, safe=':/', quote_via=quote)}"
