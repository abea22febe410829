"""The local host's own page at its root, as the Functions host serves one: that
the host is up, and (unlike Azure's, which names none) where the app's routes
are; an empty 204 when ``AzureWebJobsDisableHomepage`` turns it off."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Protocol

# The host's setting that turns its page at the root into an empty 204.
DISABLE_HOMEPAGE = "AzureWebJobsDisableHomepage"


class Listed(Protocol):
    """What the page shows of a function: its methods and its route."""

    @property
    def methods(self) -> frozenset[str] | None: ...

    @property
    def route(self) -> str: ...


def home_page(functions: Iterable[Listed], prefix: str, environ: Mapping[str, str]) -> bytes | None:
    """What the root answers: the host is up, and where the app's routes are;
    None when the setting turns the page off."""
    if environ.get(DISABLE_HOMEPAGE, "").strip().lower() == "true":
        return None
    items = "".join(
        f"<li><code>{html.escape(','.join(sorted(f.methods or {'ANY'})))} "
        f"/{html.escape(f.route)}</code></li>"
        for f in functions
    )
    where = f"under <code>/{html.escape(prefix)}/</code>" if prefix else "at these routes"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Local Functions host</title></head><body>"
        "<h1>The local Functions host is running</h1>"
        f"<p>This page is the host's, not the app's: the app's HTTP functions are {where}. "
        "A path that no function's route matches gets an empty 404 from the host, here "
        "and in Azure (whose own page here names no routes).</p>"
        f"<ul>{items}</ul></body></html>"
    ).encode()
