"""The log of Business Central requests the admin API shows.

Bounded, so a long benchmark or ``make run`` session cannot grow the sandbox
without limit: only the most recent :data:`MAX_ENTRIES` are kept. Each entry
says when it was received (``receivedAt``, UTC, milliseconds), what Business
Central's logic answered (``processedStatus``) and how long the answer was
held back (``delayedMs``). Secrets
never enter it (bearer tokens are redacted as the entry is made).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request

from sandbox import jsonutil
from sandbox.store import format_datetime

MAX_ENTRIES = 10_000


class RequestLog:
    """The most recent requests, oldest first."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)

    @property
    def max_entries(self) -> int:
        return self._entries.maxlen or 0

    def record(self, request: Request, body: bytes, received: dt.datetime) -> dict[str, Any]:
        """Add an entry and return it; the caller fills in ``processedStatus``."""
        entry = _entry(request, body, received)
        self._entries.append(entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def _entry(request: Request, body: bytes, received: dt.datetime) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in ("authorization", "proxy-authorization"):
            scheme = value.split(" ", 1)[0]
            value = "Bearer <redacted>" if scheme.lower() == "bearer" else "<redacted>"
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    parsed: Any = None
    if body.strip():
        try:
            parsed = jsonutil.loads(body)
        except jsonutil.NotJson:
            parsed = body.decode("utf-8", errors="replace")
    return {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "headers": headers,
        "body": parsed,
        "receivedAt": format_datetime(received),
        # The status the emulator's own logic produced; None while unprocessed
        # and when a fault rule answered or dropped the request instead.
        "processedStatus": None,
        # How long the answer was held back (latency and a rule's delayMs);
        # None until that is known.
        "delayedMs": None,
    }
