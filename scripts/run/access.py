"""The local host's access log for ``make run``: one line per request, written
by this wrapper rather than by uvicorn (whose access logger is one logger
shared by every server in the process, so one server's setting silences or
enables it for all).

A URL can carry secrets: a bulk job's status token (``?token=``) and a
function key (``?code=``). The line is scrubbed before it is written, and the
app's log safety scrubs every record again when it is created.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.process.logsafety import scrub

logger = logging.getLogger("scripts.run.access")


def access_logged(app: Any) -> Any:
    """``app`` with a line logged per HTTP request once it is answered."""

    async def logged(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status: int | None = None

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            query = bytes(scope.get("query_string") or b"").decode("latin-1")
            target = scope.get("path", "") + (f"?{query}" if query else "")
            client = scope.get("client")
            logger.info(
                '%s - "%s %s HTTP/%s" %s',
                f"{client[0]}:{client[1]}" if client else "-",
                scope.get("method", "-"),
                scrub(target),
                scope.get("http_version", "1.1"),
                status if status is not None else "-",
            )

    return logged
