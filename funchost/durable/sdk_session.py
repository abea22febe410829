"""One aiohttp session per event loop for the Durable SDK's client.

The SDK keeps a single process-wide session, made on first use and bound to
that event loop. One process here can run several local hosts, each on a
loop of its own (the end-to-end stack and a test's own host, one after the
other or at the same time), and a session from another loop fails ("Event
loop is closed", "attached to a different loop"). The stand-in has the SDK
ask for the running loop's session instead, made with the SDK's own settings.
"""

from __future__ import annotations

import asyncio

import aiohttp
from azure.durable_functions.models.utils import http_utils

# A plain dict: a session refers to its loop, so weak keys would never expire.
# Entries go when the host shuts down, or once their loop is closed.
_sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


async def _session_of_running_loop() -> aiohttp.ClientSession:
    for gone in [other for other in _sessions if other.is_closed()]:
        del _sessions[gone]
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=240, sock_connect=10, sock_read=None),
            connector=aiohttp.TCPConnector(limit=30, limit_per_host=30),
        )
        _sessions[loop] = session
    return session


async def close_session_of_running_loop() -> None:
    """Close this loop's session (the SDK also calls this after a connection error)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()


def install() -> None:
    """Point the SDK's client at per-loop sessions (idempotent)."""
    http_utils._get_session = _session_of_running_loop
    http_utils._handle_request_error = close_session_of_running_loop
